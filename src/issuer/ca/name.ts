/**
 * Distinguished names (RFC 5280 §4.1.2.4): one attribute per RDN, in the
 * order given (most significant first, e.g. C, O, OU, CN), encoded once.
 * Strings are UTF8String except where X.520/PKCS #9 fix the type:
 * countryName and serialNumber are PrintableString, emailAddress and
 * domainComponent IA5String.
 */
import { IssuerError } from '../errors.js';
import { TAG, oid, sequence, tlv } from './der.js';

/** The attribute types a subject or issuer name can carry. */
export type DnAttributeType = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN' | 'E' | 'serialNumber' | 'DC' | 'title' | 'GN' | 'SN';

/** One attribute of a distinguished name, e.g. `{ type: 'CN', value: 'Alice' }`. */
export interface DnAttribute {
  readonly type: DnAttributeType;
  readonly value: string;
}

interface AttributeRule {
  readonly oid: Buffer;
  readonly stringTag: number;
  readonly maxLength: number;
}

// Upper bounds from RFC 5280 Appendix A.1 (ub-*).
const rule = (dotted: string, stringTag: number, maxLength: number): AttributeRule => ({ oid: oid(dotted), stringTag, maxLength });
const ATTRIBUTES: Readonly<Record<DnAttributeType, AttributeRule>> = {
  C: rule('2.5.4.6', TAG.PRINTABLE_STRING, 2),
  ST: rule('2.5.4.8', TAG.UTF8_STRING, 128),
  L: rule('2.5.4.7', TAG.UTF8_STRING, 128),
  O: rule('2.5.4.10', TAG.UTF8_STRING, 64),
  OU: rule('2.5.4.11', TAG.UTF8_STRING, 64),
  CN: rule('2.5.4.3', TAG.UTF8_STRING, 64),
  E: rule('1.2.840.113549.1.9.1', TAG.IA5_STRING, 255),
  serialNumber: rule('2.5.4.5', TAG.PRINTABLE_STRING, 64),
  DC: rule('0.9.2342.19200300.100.1.25', TAG.IA5_STRING, 63),
  title: rule('2.5.4.12', TAG.UTF8_STRING, 64),
  GN: rule('2.5.4.42', TAG.UTF8_STRING, 64),
  SN: rule('2.5.4.4', TAG.UTF8_STRING, 64),
};

export const DN_ATTRIBUTE_TYPES = Object.keys(ATTRIBUTES) as readonly DnAttributeType[];

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
// eslint-disable-next-line no-control-regex -- IA5String is exactly the 7-bit range, controls included
const IA5 = /^[\x00-\x7f]*$/;
// No C0/C1 controls or lone surrogates in names people and tools will read.
// eslint-disable-next-line no-control-regex -- matching controls is the point
const CONTROL_OR_LONE_SURROGATE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * DER Name of the attributes. Throws `BAD_REQUEST` naming the attribute when
 * a value is empty, too long, or not representable in its string type.
 */
export function encodeName(attributes: readonly DnAttribute[], field = 'subject'): Buffer {
  const rdns = attributes.map((dnAttribute) => {
    const result = (ATTRIBUTES as Partial<Record<string, AttributeRule>>)[dnAttribute.type];
    if (result === undefined) throw new IssuerError('BAD_REQUEST', `${field}: unknown attribute type ${JSON.stringify(dnAttribute.type)}`, { field });
    const where = `${field}.${dnAttribute.type}`;
    const text = dnAttribute.value;
    if (typeof text !== 'string' || text.length === 0 || Array.from(text).length > result.maxLength) {
      throw new IssuerError('BAD_REQUEST', `${where} must be 1 to ${result.maxLength} characters`, { field: where });
    }
    const ok = result.stringTag === TAG.PRINTABLE_STRING ? PRINTABLE.test(text) : result.stringTag === TAG.IA5_STRING ? IA5.test(text) : true;
    if (!ok || CONTROL_OR_LONE_SURROGATE.test(text) || (dnAttribute.type === 'C' && !/^[A-Z]{2}$/.test(text))) {
      throw new IssuerError('BAD_REQUEST', `${where} has characters its string type cannot hold`, { field: where });
    }
    return tlv(TAG.SET, sequence(result.oid, tlv(result.stringTag, Buffer.from(text, 'utf8'))));
  });
  return sequence(...rdns);
}

/**
 * Parses the RFC 4514 string form used in configuration,
 * `CN=Example Issuing CA, O=Example, C=SE`: least significant first, so the
 * result (and the DER) is reversed, most significant first (C, O, CN), as
 * `openssl x509 -text` prints it. A comma inside a value is written `\,`;
 * multi-valued RDNs (`+`) are not supported.
 */
export function parseDn(text: string, field = 'subject'): DnAttribute[] {
  const parts = text
    .split(/(?<!\\),/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) throw new IssuerError('CONFIG', `${field}: empty distinguished name`, { field });
  return parts.reverse().map((params) => {
    const eq = params.indexOf('=');
    const type = params.slice(0, eq).trim();
    if (eq < 1 || !(DN_ATTRIBUTE_TYPES as readonly string[]).includes(type)) {
      throw new IssuerError('CONFIG', `${field}: "${params.slice(0, Math.max(eq, 0))}" is not one of ${DN_ATTRIBUTE_TYPES.join(', ')}`, { field });
    }
    return {
      type: type as DnAttributeType,
      value: params
        .slice(eq + 1)
        .trim()
        .replace(/\\,/g, ','),
    };
  });
}
