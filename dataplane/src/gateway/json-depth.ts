const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]

/**
 * Whether JSON `text` nests objects/arrays deeper than `maxDepth`, found by one
 * linear scan that skips string contents (brackets inside strings do not count).
 *
 * Runs before `JSON.parse`, because V8's parser recurses: a body of a few
 * hundred kilobytes of `[` would otherwise cost a stack overflow or a huge
 * object graph before any limit could be checked. The root value is depth 1
 * (`{}` has depth 1, `{"a":[]}` depth 2). Malformed text is not judged here:
 * the scan only answers the depth question and leaves syntax to the parser.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  // Every level needs at least one bracket character.
  if (text.length <= maxDepth) return false;
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(text, i);
      if (i < 0) return false;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/**
 * Index of the quote closing the string opened at `open`, or -1 if unterminated.
 * Jumps with `indexOf` (native speed on long strings) and treats a quote as
 * escaped when an odd number of backslashes precedes it.
 */
function endOfString(text: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let j = quote - 1; j > open && text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}
