// Defaulting and validation, each run once per write by the pipeline.
import type { FieldError, KubeObject, ResourceDefinition } from '../../api/index.js';
import { dropEmptyMeta, validateMeta } from '../meta.js';
import { schemaCtx } from '../rest.js';
import { validateSchema } from '../schema.js';
import { errBadRequest, errInvalid } from '../status.js';
import type { Strategy, WriteContext } from './strategy.js';

/** Go's omitempty on metadata, then the kind's defaulting (idempotent for every kind). */
export function defaultObject(obj: KubeObject, def: ResourceDefinition): void {
  dropEmptyMeta(obj);
  def.defaults?.(obj);
}

/** Every validation error at once, as upstream reports them: metadata, the kind's own validation
 *  (and its update rules), and the schema's findings the kind did not report itself. Only values
 *  of the wrong type stop there (upstream fails those while decoding, before any validation; the
 *  kinds' validators may assume the schema's types). */
export function validationErrors(obj: KubeObject, old: KubeObject | undefined, def: ResourceDefinition): FieldError[] {
  const errs: FieldError[] = [...validateMeta(obj, def)];
  const { metadata: _m, ...rest } = obj;
  const schemaErrs = validateSchema(rest, def.schema, schemaCtx(def)).filter((e) => !e.field.startsWith('metadata'));
  if (schemaErrs.some((e) => e.type === 'FieldValueTypeInvalid')) return [...errs, ...schemaErrs];
  const fresh = def.validate?.(obj) ?? [];
  const upd = (old && def.validateUpdate?.(obj, old)) ?? [];
  const own = def.updateErrorsFirst ? [...upd, ...fresh] : [...fresh, ...upd];
  const said = new Set(own.map((e) => `${e.type} ${e.field}`));
  errs.push(...own, ...schemaErrs.filter((e) => !said.has(`${e.type} ${e.field}`)));
  // (one message once, as upstream's aggregate does)
  const seen = new Set<string>();
  return errs.filter((e) => {
    const k = `${e.field}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The validation step: the definition's rules and the strategy's; 422 Invalid with every error.
 *  A POST or PUT body of a built-in kind with a value of the wrong type is upstream's decode
 *  failure instead, 400 BadRequest in Go's words (a patch's is 422, custom resources' too). */
export function validateWrite(obj: KubeObject, old: KubeObject | undefined, s: Strategy, w: WriteContext): void {
  const errs = validationErrors(obj, old, w.def);
  const verb = w.r.info.verb;
  const decode = !w.def.custom && (verb === 'create' || verb === 'update') && errs.find((e) => e.decode);
  if (decode && decode.decode) {
    const { kind, version } = w.def;
    // Go names the innermost struct and the field's path without list indexes or map keys.
    const d = decode.decode;
    throw errBadRequest(
      `${kind} in version "${version}" cannot be handled as a ${kind}: json: cannot unmarshal ${d.got} into Go struct field ${d.struct ?? kind}.${d.goPath || decode.field} of type ${d.want}`,
    );
  }
  if (s.validate) errs.push(...s.validate(obj, old, w));
  if (errs.length)
    throw errInvalid(
      { ...w.r.target, kind: w.def.kind, group: w.def.group, name: obj.metadata.name ?? obj.metadata.generateName },
      errs,
    );
}
