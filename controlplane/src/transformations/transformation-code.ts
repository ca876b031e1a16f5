import vm from 'node:vm';
import { fieldError } from '../http/field-error.ts';

/** The entry points a data plane calls; a transformation declares at least one. */
export const ENTRY_POINTS = ['transformEvent', 'transformBatch'] as const;

const FILENAME = 'transformation.js';

/**
 * Refuses transformation code the data plane could not run, as a 400 naming
 * `field`: larger than `maxBytes` (UTF-8), not valid JavaScript, or not
 * declaring `transformEvent` or `transformBatch` at its top level.
 *
 * The code is compiled, never run: `vm.Script` only parses it, and whether
 * an entry point is declared is found by compiling the code followed by a
 * `let` of the same name, which V8 refuses at compile time exactly when the
 * script already declares it (function, class, var, let or const).
 */
export function checkTransformationCode(code: string, maxBytes: number, field = 'body.code'): void {
  const bytes = Buffer.byteLength(code, 'utf8');
  if (bytes > maxBytes)
    throw fieldError(field, `code is ${bytes} bytes; the limit is ${maxBytes}`, { bytes, maxBytes });

  const syntaxError = compileError(code);
  if (syntaxError !== undefined) {
    // RudderStack's editor writes `export function transformEvent`; the sandbox runs scripts.
    const hint = /\bexport\b/.test(syntaxError.message)
      ? ' (transformations are scripts: declare `function transformEvent(event, metadata)` without `export`)'
      : '';
    throw fieldError(field, `not valid JavaScript: ${syntaxError.message}${hint}`, {
      ...(syntaxError.line === undefined ? {} : { line: syntaxError.line }),
    });
  }

  if (!ENTRY_POINTS.some((name) => compileError(`${code}\n;let ${name};`) !== undefined))
    throw fieldError(
      field,
      'code must declare a top-level function transformEvent(event, metadata) or transformBatch(events, metadata)',
    );
}

/** The error of compiling `code` as a script, with its line, or undefined when it compiles. */
function compileError(code: string): { message: string; line: number | undefined } | undefined {
  try {
    new vm.Script(code, { filename: FILENAME });
    return undefined;
  } catch (caught) {
    // Any compile failure counts: a SyntaxError, or a RangeError from code nested too deep to parse.
    // (Not `instanceof`: the error comes from Node's realm, which is not every caller's.)
    const err = caught as Error;
    // V8 puts the position only in the stack's first line: `transformation.js:3`.
    const line = new RegExp(`^${FILENAME.replace('.', '\\.')}:(\\d+)`).exec(err.stack ?? '')?.[1];
    return { message: err.message, line: line === undefined ? undefined : Number(line) };
  }
}
