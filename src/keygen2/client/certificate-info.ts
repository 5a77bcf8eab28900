/**
 * The few X.509 fields the client reads (spec §6.5 search filters, §6.9.1
 * trust anchors, the enrollment summary), from DER with a small reader: node's
 * X509Certificate renders names in OpenSSL's form and exposes neither key-usage
 * bits nor certificate policies. Names are rendered the way Java's
 * `X500Principal.getName()` (RFC 2253) does, because search-filter regexes are
 * written against that rendering (spec §6.5, quirk 13).
 */
import { KeyGen2Error } from '../errors.js';
// The spec's key-usage names are in RFC 5280 bit order (bit 0 = digitalSignature).
import { KEY_USAGE_NAMES } from '../messages/index.js';

interface Tlv {
  readonly tag: number;
  /** Content bytes. */
  readonly value: Uint8Array;
  /** The whole TLV. */
  readonly der: Uint8Array;
}

const malformed = (): KeyGen2Error => new KeyGen2Error('SCHEMA', 'malformed X.509 certificate', { path: 'certificatePath' });

function readTlv(buf: Uint8Array, at: number): { tlv: Tlv; next: number } {
  if (at + 2 > buf.length) throw malformed();
  const tag = buf[at];
  if ((tag & 0x1f) === 0x1f) throw malformed(); // multi-byte tags do not occur in certificates
  let len = buf[at + 1];
  let pos = at + 2;
  if (len & 0x80) {
    const lengthBytes = len & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 4 || pos + lengthBytes > buf.length) throw malformed();
    len = 0;
    for (let i = 0; i < lengthBytes; i++) len = len * 256 + buf[pos + i];
    pos += lengthBytes;
  }
  if (pos + len > buf.length) throw malformed();
  return { tlv: { tag, value: buf.subarray(pos, pos + len), der: buf.subarray(at, pos + len) }, next: pos + len };
}

function children(parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < parent.value.length) {
    const { tlv, next } = readTlv(parent.value, at);
    out.push(tlv);
    at = next;
  }
  return out;
}

function oidText(bytes: Uint8Array): string {
  const arcs: bigint[] = [];
  let acc = 0n;
  for (const byte of bytes) {
    acc = (acc << 7n) | BigInt(byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(acc);
      acc = 0n;
    }
  }
  if (arcs.length === 0) throw malformed();
  const first = arcs[0];
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Two's-complement big-endian INTEGER content as a bigint. */
function integerOf(bytes: Uint8Array): bigint {
  if (bytes.length === 0) throw malformed();
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  if (bytes[0] & 0x80) value -= 1n << BigInt(bytes.length * 8);
  return value;
}

function timeOf(tlv: Tlv): number {
  const text = Buffer.from(tlv.value).toString('latin1');
  const match = tlv.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) throw malformed();
  let year = Number(match[1]);
  if (tlv.tag === 0x17) year += year < 50 ? 2000 : 1900;
  const date = new Date(Date.UTC(2000, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
  date.setUTCFullYear(year);
  return date.getTime();
}

// ---------------------------------------------------------------------------
// Names in Java's RFC 2253 rendering (spec §6.5 "DNs are compared in Java's RFC 2253 rendering")

const RFC2253_KEYWORDS: Readonly<Partial<Record<string, string>>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

/** ASN.1 string types Java renders as text (UTF8, Printable, T61, IA5, Universal, BMP, General). */
const STRING_TAGS = new Set([0x0c, 0x13, 0x14, 0x16, 0x1c, 0x1e, 0x1b]);
const ESCAPEES = ',=+<>#;"\\';

function stringValue(tlv: Tlv): string {
  if (tlv.tag === 0x1e) {
    let text = '';
    for (let i = 0; i + 1 < tlv.value.length; i += 2) text += String.fromCharCode((tlv.value[i] << 8) | tlv.value[i + 1]);
    return text;
  }
  return Buffer.from(tlv.value).toString('utf8');
}

function renderValue(tlv: Tlv): string {
  let out = '';
  for (const char of stringValue(tlv)) {
    if (ESCAPEES.includes(char)) out += `\\${char}`;
    else if (char === '\u0000') out += '\\00';
    else out += char;
  }
  // Leading and trailing spaces (and CRs) are escaped one by one.
  const chars = Array.from(out);
  let lead = 0;
  while (lead < chars.length && (chars[lead] === ' ' || chars[lead] === '\r')) lead++;
  let trail = chars.length - 1;
  while (trail >= 0 && (chars[trail] === ' ' || chars[trail] === '\r')) trail--;
  return chars.map((c, i) => (i < lead || i > trail ? `\\${c}` : c)).join('');
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Attribute {
  readonly oid: string;
  readonly value: Tlv;
}

function nameAttributes(name: Tlv): Attribute[][] {
  return children(name).map((rdn) =>
    children(rdn).map((ava) => {
      const parts = children(ava);
      const type = parts.at(0);
      const value = parts.at(1);
      if (type === undefined || value === undefined || type.tag !== 0x06) throw malformed();
      return { oid: oidText(type.value), value };
    }),
  );
}

function rfc2253(rdns: Attribute[][]): string {
  return [...rdns]
    .reverse()
    .map((rdn) =>
      rdn
        .map((attribute) => {
          const keyword = RFC2253_KEYWORDS[attribute.oid];
          if (keyword === undefined || !STRING_TAGS.has(attribute.value.tag)) return `${keyword ?? attribute.oid}=#${hex(attribute.value.der)}`;
          return `${keyword}=${renderValue(attribute.value)}`;
        })
        .join('+'),
    )
    .join(',');
}

// ---------------------------------------------------------------------------

export interface CertificateInfo {
  readonly serialNumber: bigint;
  /** Java RFC 2253 rendering. */
  readonly issuer: string;
  readonly subject: string;
  readonly notBefore: number;
  /** Subject emailAddress attributes and rfc822Name subject-alt-names. */
  readonly emails: readonly string[];
  /** undefined when the certificate has no keyUsage extension. */
  readonly keyUsage: ReadonlySet<string> | undefined;
  /** undefined when the certificate has no extendedKeyUsage extension. */
  readonly extendedKeyUsage: ReadonlySet<string> | undefined;
  /** undefined when the certificate has no certificatePolicies extension. */
  readonly policies: ReadonlySet<string> | undefined;
  /** basicConstraints cA. */
  readonly isCa: boolean;
}

const EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

/** Reads the fields above from a DER certificate; a malformed certificate is a SCHEMA error. */
export function certificateInfo(der: Uint8Array): CertificateInfo {
  const cert = readTlv(der, 0).tlv;
  const tbs = children(cert).at(0);
  if (cert.tag !== 0x30 || tbs?.tag !== 0x30) throw malformed();
  const tlvs = children(tbs);
  let index = tlvs.at(0)?.tag === 0xa0 ? 1 : 0;
  const serial = tlvs.at(index++);
  index++; // signature algorithm
  const issuer = tlvs.at(index++);
  const validity = tlvs.at(index++);
  const subject = tlvs.at(index++);
  index++; // subjectPublicKeyInfo
  if (serial?.tag !== 0x02 || issuer?.tag !== 0x30 || validity?.tag !== 0x30 || subject?.tag !== 0x30) throw malformed();
  const notBefore = children(validity).at(0);
  if (notBefore === undefined) throw malformed();
  const subjectAttributes = nameAttributes(subject);
  const emails = subjectAttributes
    .flat()
    .filter((a) => a.oid === EMAIL_ADDRESS)
    .map((a) => stringValue(a.value));
  let keyUsage: Set<string> | undefined;
  let extendedKeyUsage: Set<string> | undefined;
  let policies: Set<string> | undefined;
  let isCa = false;
  for (const item of tlvs.slice(index)) {
    if (item.tag !== 0xa3) continue;
    const list = children(item).at(0);
    if (list === undefined) throw malformed();
    for (const ext of children(list)) {
      const parts = children(ext);
      const id = parts.at(0);
      const octets = parts.at(-1);
      if (id?.tag !== 0x06 || octets?.tag !== 0x04) throw malformed();
      const inner = readTlv(octets.value, 0).tlv;
      switch (oidText(id.value)) {
        case '2.5.29.15': {
          keyUsage = new Set();
          const unused = inner.value.at(0) ?? 0;
          const bits = inner.value.subarray(1);
          for (let bit = 0; bit < bits.length * 8 - unused; bit++) {
            const usageName = KEY_USAGE_NAMES.at(bit);
            if (bits[bit >> 3] & (0x80 >> (bit & 7)) && usageName !== undefined) keyUsage.add(usageName);
          }
          break;
        }
        case '2.5.29.37':
          extendedKeyUsage = new Set(children(inner).map((o) => oidText(o.value)));
          break;
        case '2.5.29.32':
          policies = new Set(children(inner).map((pi) => oidText(children(pi).at(0)?.value ?? new Uint8Array())));
          break;
        case '2.5.29.17':
          for (const gn of children(inner)) if (gn.tag === 0x81) emails.push(Buffer.from(gn.value).toString('latin1'));
          break;
        case '2.5.29.19': {
          const first = children(inner).at(0);
          isCa = first?.tag === 0x01 && first.value[0] !== 0;
          break;
        }
        default:
          break;
      }
    }
  }
  return {
    serialNumber: integerOf(serial.value),
    issuer: rfc2253(nameAttributes(issuer)),
    subject: rfc2253(subjectAttributes),
    notBefore: timeOf(notBefore),
    emails,
    keyUsage,
    extendedKeyUsage,
    policies,
    isCa,
  };
}
