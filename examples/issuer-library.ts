/**
 * The issuer side of KeyGen2 as a library, end to end in one process: an issuer
 * (`airtight/keygen2/server`) provisions an EC P-256 key with a PIN into a
 * software SKS (`airtight/sks`) through the device client
 * (`airtight/keygen2/client`). Only wire text passes between the two sides, and
 * the issuer's whole state is a JSON string between steps, as a service keeps it
 * in its database. Run it with `npm run example` (after `npm install`).
 */
import { generateKeyPairSync, randomBytes, verify, X509Certificate } from 'node:crypto';
import { runEnrollment, type KeyGen2Transport } from 'airtight/keygen2/client';
import { buildInvocationUrl } from 'airtight/keygen2/http';
import { createIssuer, DeviceTrust, NodeIssuerCrypto, type IssuerConfig, type IssuerState } from 'airtight/keygen2/server';
import { CertificateIssuer, createCaHierarchy } from 'airtight/issuer/ca';
import { createMemoryKeyStore, openSecureKeyStore } from 'airtight/sks';
import { createManufacturerCa, issueDeviceCertificate } from 'airtight/sks/device';

// Over https the transport also hands the client the server's TLS certificate, which the session attests.
const ISSUER_URI = 'http://issuer.example/keygen2';

// The device: a software SKS whose device key a manufacturer CA certified.
const manufacturer = await createManufacturerCa();
const deviceKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const deviceCertificate = await issueDeviceCertificate(manufacturer, deviceKey, { serialNumber: 'DEMO-0001' });
const sks = openSecureKeyStore({ store: createMemoryKeyStore(), device: { privateKey: deviceKey, certificatePath: [deviceCertificate] } });

// The issuer: its CA, the device roots it trusts, and what it provisions.
const ca = await createCaHierarchy();
const certificates = new CertificateIssuer(ca.issuing);
const issuer = createIssuer({
  crypto: new NodeIssuerCrypto({ sealingKey: randomBytes(32) }),
  deviceTrust: new DeviceTrust([manufacturer.certificate]),
  certify: (key) => ({
    certificatePath: [
      certificates.issue({
        profile: { subject: [{ type: 'O', value: 'Example Bank' }], validityDays: 365, appUsage: key.appUsage },
        user: { commonName: 'Alice' },
        subjectPublicKey: key.publicKey,
      }).der,
    ],
  }),
});
const config: IssuerConfig = {
  issuerUri: ISSUER_URI,
  pinPolicies: [
    {
      format: 'numeric',
      minLength: 4,
      maxLength: 8,
      retryLimit: 3,
      keys: [{ keyAlgorithm: 'https://webpki.github.io/sks/algorithm#ec.nist.p256', appUsage: 'authentication' }],
    },
  ],
};

// The network: each request and response is wire text; the issuer keeps its state as JSON.
let saved = '';
const transport: KeyGen2Transport = {
  async fetchInvocation() {
    const { state, request } = await issuer.startText(config);
    saved = JSON.stringify(state);
    return { kind: 'message', text: request };
  },
  async postResponse(_invocation, text) {
    const step = await issuer.acceptText(JSON.parse(saved) as IssuerState, text);
    saved = JSON.stringify(step.state);
    return step.outcome === undefined ? { kind: 'message', text: step.request } : { kind: 'redirect', location: 'http://issuer.example/done' };
  },
};

const summary = await runEnrollment({
  sks,
  transport,
  ui: { consent: () => Promise.resolve(true), enterPin: () => Promise.resolve('1234') },
  invocationUrl: buildInvocationUrl({ initUrl: `${ISSUER_URI}?init=true`, transactionUrl: ISSUER_URI, cookie: 'JSESSIONID=1' }),
});
const installed = summary.keys.at(0);
if (installed === undefined) throw new Error('nothing was installed');
console.log(`installed key #${installed.keyHandle} (${installed.id}), certificate ${installed.certificateSubject}`);

// The key signs behind its PIN, and the signature verifies under the issued certificate.
const data = Buffer.from('hello from the SKS');
const signature = await sks.signData({
  keyHandle: installed.keyHandle,
  algorithm: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  authorization: Buffer.from('1234'),
  data,
});
const certificate = new X509Certificate(installed.certificatePath[0] ?? Buffer.alloc(0));
const valid = verify('sha256', data, { key: certificate.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
console.log(`signature ${valid ? 'verifies' : 'DOES NOT verify'} under ${certificate.subject.replaceAll('\n', ', ')}`);
await sks.close();
if (!valid) process.exit(1);
