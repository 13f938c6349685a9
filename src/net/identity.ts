/**
 * Party identities for TLS (wss): each party has its own ECDSA P-256 key
 * and a self-signed certificate naming it ("CN=mpcnet P1"). A session pins
 * every party's certificate by id, so a party proves its id by holding the
 * matching private key: the shared session key alone can no longer claim
 * another party's id. Certificates are made with @peculiar/x509 (Node can
 * read X.509 but not write it); its dependency-injection layer needs the
 * reflect-metadata polyfill loaded first.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface PartyIdentity {
  /** PKCS#8 private key, PEM. Never logged, never sent. */
  keyPem: string;
  certPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** A fresh key pair and self-signed certificate for party `id`, valid from now for `days`. */
export async function generateIdentity(id: number, days = 365): Promise<PartyIdentity> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=mpcnet P${id}`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + days * DAY_MS),
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
    signingAlgorithm: ALGORITHM,
  });
  return { keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), certPem: cert.toString('pem') + '\n' };
}

/** SHA-256 fingerprint ("AB:CD:...") of a PEM certificate; `what` names it in the error. */
export function certFingerprint(certPem: string, what: string): string {
  try {
    return new X509Certificate(certPem).fingerprint256;
  } catch (e) {
    throw new Error(`${what} is not a PEM X.509 certificate (${(e as Error).message})`);
  }
}

/** Check that the key belongs to the certificate: a party started with another party's key is refused before it dials. */
export function checkIdentity(identity: PartyIdentity, what: string): void {
  let key;
  try {
    key = createPrivateKey(identity.keyPem);
  } catch (e) {
    throw new Error(`${what}: the private key is not a PEM key (${(e as Error).message})`);
  }
  certFingerprint(identity.certPem, `${what}: the certificate`);
  if (!new X509Certificate(identity.certPem).checkPrivateKey(key)) {
    throw new Error(`${what}: the private key does not belong to this party's certificate (another party's key?)`);
  }
}

/** Read a PEM file, naming the file in every error. */
export function readPemFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw new Error(`${what} ${path} is not a PEM file`);
  return text;
}
