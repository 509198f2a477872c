// The presets shipped in resources/presets/ (src/shared/presets.ts says what one is), and starting
// one: its runs go to the queue; arms that fine-tune from the pre-training run are queued when that
// run completes (and dropped, with the reason, if it does not).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiFailure, type PresetStart } from '../../shared/api';
import { expandPreset, withPretrain, type Preset } from '../../shared/presets';
import type { RunService } from './runs';

/** resources/presets: TRICKBENCH_PRESETS, else found above this module (source or bundle). */
export function presetsDir(): string {
  if (process.env.TRICKBENCH_PRESETS) return process.env.TRICKBENCH_PRESETS;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'resources', 'presets');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('resources/presets not found (set TRICKBENCH_PRESETS)');
}

/** Every preset file, validated; a bad file is an error naming it and its field. */
export function loadPresets(dir = presetsDir()): Preset[] {
  const out: Preset[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(dir, f);
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: not JSON: ${(e as Error).message}`);
    }
    const r = expandPreset(f.replace(/\.json$/, ''), raw);
    if (!r.ok) throw new Error(`${file}: ${r.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
    out.push(r.preset);
  }
  return out;
}

export function startPreset(runs: RunService, presets: readonly Preset[], id: string): PresetStart {
  const p = presets.find((x) => x.id === id);
  if (!p) throw new ApiFailure({ code: 'not_found', message: `no preset '${id}' (have: ${presets.map((x) => x.id).join(', ')})`, field: 'id' });
  const started: number[] = [];
  const later = p.arms.filter((a) => a.fromPretrain);
  if (p.pretrain) {
    const pre = runs.start(p.pretrain.config);
    started.push(pre.id);
    if (later.length) {
      runs.whenFinished(pre.id, (status) => {
        if (status !== 'completed') return; // the pre-training's own status says why; nothing to fine-tune
        for (const a of later) runs.start(withPretrain(a, pre.id));
      });
    }
  }
  for (const a of p.arms.filter((x) => !x.fromPretrain)) started.push(runs.start(a.config).id);
  return { started, pending: later.map((a) => a.name) };
}
