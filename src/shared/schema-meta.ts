// Metadata of the config schema's fields: what the new-run form labels and hints them with, which
// CLI flag sets them and what `--help` says. The schema (config.ts and each trick's file) attaches
// it with `field(schema, meta)`; the form (renderer lib/configForm.ts) and the CLI
// (trainer/cli-config.ts) are derived from it, and tests/unit/schema-leaves.test.ts walks every
// leaf of the schema to check that each has a form field and a flag, or says why not.
import { z } from 'zod';

/** How the form edits a field; derived from the schema's type unless the metadata says otherwise. */
export type FieldKind = 'text' | 'number' | 'numberOrBlank' | 'list' | 'listOrBlank' | 'bool' | 'select' | 'json';

export interface FieldMeta {
  /** The form's label ("Learning rate", "ε"). */
  label: string;
  /** A short hint beside the form field ("fraction, 0–0.9"). */
  hint?: string;
  /** The CLI's --help text for the flag; defaults to the label and hint. */
  help?: string;
  /** The CLI flag without its dashes ("lr", "mixup"); null: deliberately none, `noFlag` says why. */
  flag?: string | null;
  noFlag?: string;
  /** Why the form has no field of its own for it (edited elsewhere, e.g. as JSON); absent: it has one. */
  noForm?: string;
  placeholder?: string;
  /** The form's input kind, where the one derived from the schema's type is not right. */
  kind?: FieldKind;
  /** The choices a select offers where the schema does not list them (a dataset name is any
   * name; the form offers the built-in ones until it knows more). */
  options?: readonly string[];
}

/** An integer field of at least `min` (the schema's counts, epochs, sizes and seeds). */
export const int = (min: number) => z.number().int().min(min);

/** Every field's metadata, by schema object (a zod registry, not zod's global one). */
export const FIELDS = z.registry<FieldMeta>();

/** Attach the form's and the CLI's metadata to a field's schema; returns the schema itself. Attach
 * it to the outermost schema of the field (after `.default()` / `.nullable()`); the walker
 * (schema-walk.ts) also finds it on any schema the field wraps. On a discriminated union (the model,
 * the optimizer) it describes the discriminator: the kind's select and flag. On a nullable object
 * (a trick, `init`) it describes its toggle: null = off. */
export function field<T extends z.ZodType>(schema: T, meta: FieldMeta): T {
  FIELDS.add(schema, meta);
  return schema;
}
