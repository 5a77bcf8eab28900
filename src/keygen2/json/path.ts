/**
 * JSON paths for error reports (`$.keyEntrySpecifiers[2].mac`, `$['@context']`).
 * Member names that are not plain identifiers use bracket notation so a path is unambiguous.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The path of the message itself. */
export const ROOT_PATH = '$';

/** The path of member `name` of the object at `parent`. */
export const memberPath = (parent: string, name: string): string =>
  IDENTIFIER.test(name) ? `${parent}.${name}` : `${parent}['${name.replace(/[\\']/g, (c) => `\\${c}`)}']`;

/** The path of element `index` of the array at `parent`. */
export const indexPath = (parent: string, index: number): string => `${parent}[${index}]`;
