import * as fs from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import * as YAML from 'yaml';
import { clusterConfigJsonSchema, gitopsConfigJsonSchema } from '../../../lib/app/config/json-schema';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const published = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'cluster-config.schema.json'), 'utf8'));

describe('published config JSON Schema', () => {
  test('is what `npm run import` generates from the zod schema', () => {
    expect(published).toEqual(JSON.parse(JSON.stringify(clusterConfigJsonSchema())));
  });

  test('accepts the default configs and flags a typo, as an editor would', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const validate = ajv.compile(published);
    for (const f of fs.readdirSync(path.join(ROOT, 'clusters')).filter((n) => /\.ya?ml$/.test(n))) {
      const text = fs.readFileSync(path.join(ROOT, 'clusters', f), 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/cluster-config.schema.json');
      expect(validate(YAML.parse(text))).toBe(true);
    }
    const typo = YAML.parse(fs.readFileSync(path.join(ROOT, 'clusters', 'homelab.yaml'), 'utf8'));
    typo.controlPlane.replica = 3;
    expect(validate(typo)).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ instancePath: '/controlPlane', keyword: 'additionalProperties' });
  });
});

describe('published GitOps config JSON Schema', () => {
  const gitops = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'gitops-config.schema.json'), 'utf8'));

  test('is what `npm run import` generates, and accepts the project\'s gitops.yaml', () => {
    expect(gitops).toEqual(JSON.parse(JSON.stringify(gitopsConfigJsonSchema())));
    const text = fs.readFileSync(path.join(ROOT, 'gitops.yaml'), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=schemas/gitops-config.schema.json');
    const validate = new Ajv2020({ strict: false }).compile(gitops);
    expect(validate(YAML.parse(text))).toBe(true);
    expect(validate({ ...YAML.parse(text), flux: { namspace: 'x' } })).toBe(false);
  });
});
