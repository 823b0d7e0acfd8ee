// Validates an AsyncAPI document with the official parser (@asyncapi/parser): the
// specification's JSON Schema, its rules (references, ids, channel/operation consistency) and
// every payload schema. Usage: node validate_asyncapi.mjs FILE (YAML or JSON).
// Prints the diagnostics as one JSON array on stdout: {code, severity, message, path}, where
// severity 0 is an error, 1 a warning, 2 information, 3 a hint. Exits 0 once it has printed.
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';

const source = readFileSync(process.argv[2], 'utf8');
const diagnostics = await new Parser().validate(source);
const out = diagnostics.map((d) => ({
  code: String(d.code), severity: d.severity, message: d.message, path: d.path.map(String),
}));
process.stdout.write(JSON.stringify(out) + '\n');
