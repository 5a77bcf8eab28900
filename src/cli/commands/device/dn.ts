/** Node prints multi-valued DNs one attribute per line; `device` shows them on one. */
export const oneLineDn = (dn: string): string => dn.split('\n').join(', ');
