import { AllowedKinds, blockingFindings, Finding, FindingKind, Plan } from './plan';

const HEADINGS: Record<FindingKind, string> = {
  [FindingKind.DESTRUCTIVE]: 'DESTRUCTIVE',
  [FindingKind.REJECTED]: 'REJECTED',
  [FindingKind.UNSAFE]: 'UNSAFE',
  [FindingKind.WARNING]: 'warning',
};

const ALLOW_FLAGS: Partial<Record<FindingKind, string>> = {
  [FindingKind.DESTRUCTIVE]: '--allow-destructive',
  [FindingKind.REJECTED]: '--allow-rejected',
  [FindingKind.UNSAFE]: '--allow-unsafe',
};

/**
 * The plan in plain words, folder by folder: findings first (what would hurt), then rollouts in
 * the order to watch them (control plane, then pools), scaling, and the object changes.
 *
 * @param against what the plan compares with, e.g. `dist/ at HEAD`
 */
export function formatPlan(plan: Plan, against: string, allowed: AllowedKinds = new Set()): string {
  if (plan.folders.length === 0) return `No changes: a fresh synth equals ${against}.\n`;
  const lines: string[] = [`Plan against ${against}:`];
  for (const f of plan.folders) {
    lines.push('', `dist/${f.folder}/: ${f.created.length} to create, ${f.changed.length} to change, ${f.deleted.length} to delete`);
    for (const kind of [FindingKind.DESTRUCTIVE, FindingKind.REJECTED, FindingKind.UNSAFE, FindingKind.WARNING]) {
      for (const x of f.findings.filter((y) => y.kind === kind)) {
        const allowedNote = allowed.has(kind) ? ` (allowed by ${ALLOW_FLAGS[kind]})` : '';
        lines.push(`  ${HEADINGS[kind]}${allowedNote}: ${x.object} ${x.message}`);
      }
    }
    if (f.rollouts.length > 0) {
      lines.push('  rolling updates (Cluster API starts them together; listed in the order to watch):');
      f.rollouts.forEach((r, i) => {
        lines.push(`    ${i + 1}. ${r.what}`);
        for (const why of r.reasons) lines.push(`       - ${why}`);
      });
    }
    for (const s of f.scaling) lines.push(`  scaling: ${s}`);
    for (const o of f.created) lines.push(`  + ${o}`);
    for (const c of f.changed) {
      lines.push(`  ~ ${c.object}`);
      for (const field of c.fields.slice(0, 8)) lines.push(`      ${field}`);
      if (c.fields.length > 8) lines.push(`      … and ${c.fields.length - 8} more field(s)`);
    }
    for (const o of f.deleted) lines.push(`  - ${o}`);
  }
  lines.push('', summary(plan, allowed));
  return `${lines.join('\n')}\n`;
}

/** The last line: safe, or what blocks and the flag that would allow it. */
function summary(plan: Plan, allowed: AllowedKinds): string {
  const blocking = blockingFindings(plan, allowed);
  if (blocking.length === 0) return 'Safe to apply: nothing destructive, rejected or unsafe.';
  const count = (kind: FindingKind) => blocking.filter((b: Finding) => b.kind === kind).length;
  const parts = [FindingKind.DESTRUCTIVE, FindingKind.REJECTED, FindingKind.UNSAFE]
    .filter((k) => count(k) > 0).map((k) => `${count(k)} ${k} (${ALLOW_FLAGS[k]} to proceed anyway)`);
  return `Not safe to apply: ${parts.join(', ')}.`;
}
