/**
 * PKCS#1 v1.5 encryption padding (RFC 8017 §7.2.2 step 3). Node 20 refuses
 * PKCS#1 v1.5 private decryption (CVE-2023-46809), so the SKS decrypts with
 * raw RSA and removes the padding here.
 */

/**
 * Removes type 2 padding `00 02 PS(at least 8 non-zero bytes) 00 M` from the
 * encoded message `em`, without early exits so that the time taken does not
 * tell where the padding went wrong. Returns M (possibly empty) or null.
 */
export function unpadPkcs1Type2(em: Uint8Array): Buffer | null {
  if (em.length < 11) return null; // public knowledge: the modulus size
  let bad = em[0] | (em[1] ^ 0x02);
  let separator = 0;
  let found = 0;
  for (let i = 2; i < em.length; i++) {
    const isZero = em[i] === 0 ? 1 : 0;
    const first = isZero & (found ^ 1);
    separator |= first * i;
    found |= isZero;
  }
  bad |= found ^ 1;
  bad |= separator < 10 ? 1 : 0; // at least 8 bytes of non-zero padding
  return bad === 0 ? Buffer.from(em.buffer, em.byteOffset + separator + 1, em.length - separator - 1) : null;
}
