// Interop client for the token/ tests: node's `jose` as the independent JOSE implementation.
//
//   node jose_interop.mjs verify --jwks FILE --alg ALG [--iss ISS] [--aud AUD] [--typ TYP] < token
//       verifies with jose (keys chosen by kid from the JWKS); prints the payload as JSON and
//       exits 0, or prints "REJECTED <code>: <message>" and exits 1
//   node jose_interop.mjs keygen --alg ALG --dir DIR
//       generates a key pair with jose; writes DIR/jwks.json (public, with kid/alg/use),
//       DIR/jwks-noalg.json (same keys without "alg") and DIR/private.jwk
//   node jose_interop.mjs sign --key FILE [--typ TYP] < claims.json
//       signs the claims with the private JWK (its alg and kid in the header); prints the JWS
import { readFileSync, writeFileSync } from 'node:fs';
import * as jose from 'jose';

function parseArgs(argv) {
  const out = { alg: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (!k.startsWith('--') || v === undefined) throw new Error(`bad argument ${k}`);
    const name = k.slice(2);
    if (name === 'alg') out.alg.push(v);
    else out[name] = v;
  }
  return out;
}

function stdin() {
  return readFileSync(0, 'utf8').trim();
}

async function verify(a) {
  const jwks = JSON.parse(readFileSync(a.jwks, 'utf8'));
  const keyset = jose.createLocalJWKSet(jwks);
  const opts = { algorithms: a.alg };
  if (a.iss) opts.issuer = a.iss;
  if (a.aud) opts.audience = a.aud;
  if (a.typ) opts.typ = a.typ;
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(stdin(), keyset, opts);
    if (!a.alg.includes(protectedHeader.alg)) throw new Error('alg outside the allow-list');
    process.stdout.write(JSON.stringify(payload) + '\n');
    return 0;
  } catch (e) {
    process.stdout.write(`REJECTED ${e.code || 'ERR'}: ${e.message}\n`);
    return 1;
  }
}

async function keygen(a) {
  const alg = a.alg[0];
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, {
    extractable: true,
    modulusLength: 2048,
  });
  const pub = await jose.exportJWK(publicKey);
  const priv = await jose.exportJWK(privateKey);
  const kid = await jose.calculateJwkThumbprint(pub, 'sha256');
  const withAlg = { ...pub, kid, alg, use: 'sig' };
  writeFileSync(`${a.dir}/jwks.json`, JSON.stringify({ keys: [withAlg] }) + '\n');
  writeFileSync(`${a.dir}/jwks-noalg.json`, JSON.stringify({ keys: [{ ...pub, kid }] }) + '\n');
  writeFileSync(`${a.dir}/private.jwk`, JSON.stringify({ ...priv, kid, alg }) + '\n',
    { mode: 0o600 });
  return 0;
}

async function sign(a) {
  const jwk = JSON.parse(readFileSync(a.key, 'utf8'));
  const key = await jose.importJWK(jwk, jwk.alg);
  const header = { alg: jwk.alg, kid: jwk.kid };
  if (a.typ) header.typ = a.typ;
  const claims = JSON.parse(stdin());
  const jws = await new jose.SignJWT(claims).setProtectedHeader(header).sign(key);
  process.stdout.write(jws + '\n');
  return 0;
}

const [cmd, ...rest] = process.argv.slice(2);
const commands = { verify, keygen, sign };
if (!commands[cmd]) {
  process.stderr.write('usage: jose_interop.mjs verify|keygen|sign ...\n');
  process.exit(2);
}
try {
  process.exit(await commands[cmd](parseArgs(rest)));
} catch (e) {
  process.stderr.write(`jose_interop: ${e.message}\n`);
  process.exit(2);
}
