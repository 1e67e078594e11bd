// Verifies a Sigstore bundle with Sigstore's own verifier (@sigstore/verify, pinned in package-lock.json)
// against a public key: exit 0 when it verifies, 1 when it does not, 2 on a usage error.
//   node sigstore_verify.mjs BUNDLE.json KEY.pub NODE_MODULES_DIR
// The trust material is the key alone, found by the bundle's hint (the hex SHA-256 of the key's PEM, computed
// here, so a bundle naming another key fails); no transparency log, certificate or timestamp is required.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

if (process.argv.length !== 5) {
  console.error('usage: node sigstore_verify.mjs BUNDLE.json KEY.pub NODE_MODULES_DIR');
  process.exit(2);
}
const [bundlePath, keyPath, modules] = process.argv.slice(2);
// The packages live in a cache outside the tree (scripts/deps.sh), so they are loaded from there.
const require = createRequire(join(modules, 'noop.js'));
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const { crypto } = require('@sigstore/core');

try {
  const pem = readFileSync(keyPath, 'utf8');
  const hint = createHash('sha256').update(pem).digest('hex');
  const der = crypto.createPublicKey(pem).export({ format: 'der', type: 'spki' });
  const root = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
  const trust = toTrustMaterial(root, { [hint]: { rawBytes: der } });
  const bundle = bundleFromJSON(JSON.parse(readFileSync(bundlePath, 'utf8')));
  // A key-signed bundle has no log entry, SCT or timestamp to count: every threshold is 0.
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundle));
  console.log(`VERIFIED ${bundle.mediaType} (${bundle.content.dsseEnvelope.payloadType})`);
  process.exit(0);
} catch (e) {
  console.log(`NOT VERIFIED: ${e.code ?? e.name}: ${e.message}`);
  process.exit(1);
}
