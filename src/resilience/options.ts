/** Wrap-time validation: the kit's one rule lives in `core/options.ts`; this path stays for existing imports. */
export {
  assertFunction,
  assertKnownKeys,
  assertObject,
  checkOptions,
  checkValue,
  describe,
  numberOption,
  type OptionRule,
  type OptionSpec,
  rule,
} from "../core/options.js";
