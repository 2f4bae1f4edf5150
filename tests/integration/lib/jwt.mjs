// Minimal JWT (JWS compact) minting with node:crypto, so tokens are produced by code independent of the
// edge's libjwt: HS256 with a shared secret, RS256 / ES256 with freshly generated key pairs whose public
// halves are written as PEM files for --jwt-public-key.
import { createHmac, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
const enc = (obj) => b64url(Buffer.from(JSON.stringify(obj), 'utf8'));
export const nowSec = () => Math.floor(Date.now() / 1000);

// Signs claims. alg: 'HS256' (key = secret string/Buffer), 'RS256' / 'ES256' (key = KeyObject or PEM),
// or 'none'. header overrides/extends the JOSE header (e.g. to lie about alg).
export function signJwt(claims, { alg = 'HS256', key, header = {} } = {}) {
  const h = { alg, typ: 'JWT', ...header };
  const input = `${enc(h)}.${enc(claims)}`;
  let sig;
  switch (alg) {
    case 'HS256':
      sig = createHmac('sha256', key).update(input).digest();
      break;
    case 'RS256':
      sig = cryptoSign('sha256', Buffer.from(input), key);
      break;
    case 'ES256':
      // JOSE wants the raw r||s form, not DER.
      sig = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
      break;
    case 'none':
      sig = Buffer.alloc(0);
      break;
    default:
      throw new Error(`unsupported alg ${alg}`);
  }
  return `${input}.${b64url(sig)}`;
}

// Generates a key pair for alg and writes the public key as PEM into dir. Returns
// { alg, privateKey, publicKey, publicPem, publicKeyFile }.
export function makeKeyPair(alg, dir) {
  let pair;
  if (alg === 'RS256') pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  else if (alg === 'ES256') pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  else throw new Error(`no key pair for ${alg}`);
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' });
  const publicKeyFile = join(dir, `jwt-${alg.toLowerCase()}-public.pem`);
  writeFileSync(publicKeyFile, publicPem);
  return { alg, privateKey: pair.privateKey, publicKey: pair.publicKey, publicPem, publicKeyFile };
}

// Claims for a user token valid for an hour unless overridden. Pass exp: undefined to omit exp.
export function userClaims(sub, extra = {}) {
  return { sub, iat: nowSec(), exp: nowSec() + 3600, ...extra };
}
