/** Secrets shorter than this are not redacted: replacing every "a" or "42" would wreck the output and hide nothing. */
export const MIN_REDACTED_LENGTH = 4;

/**
 * Replaces secret values in a stream of text with `[secret NAME]`, also when a value is split across chunks: the end
 * of a chunk that could be the start of a value is held back until the next chunk (or `flush`) decides it.
 */
export class SecretRedactor {
  private readonly secrets: Array<[name: string, value: string]>;
  private carry = "";

  constructor(secrets: ReadonlyMap<string, string>) {
    // Longest first, so a value containing another is replaced whole.
    this.secrets = [...secrets]
      .filter(([, value]) => value.length >= MIN_REDACTED_LENGTH)
      .sort((a, b) => b[1].length - a[1].length);
  }

  /** The text that is safe to pass on now. */
  push(text: string): string {
    if (this.secrets.length === 0) return text;
    // Decided on the raw text, before anything is replaced: a value that contains another must not be cut after the
    // shorter one. The held-back end stays raw (in memory only) until the next chunk decides it.
    const raw = this.carry + text;
    const split = this.safeEnd(raw);
    this.carry = raw.slice(split);
    return this.redact(raw.slice(0, split));
  }

  /** What was held back, redacted (the stream ended, so it cannot become more of a secret). */
  flush(): string {
    const rest = this.redact(this.carry);
    this.carry = "";
    return rest;
  }

  /** Redacts a whole text at once (results, messages). */
  redact(text: string): string {
    let redacted = text;
    for (const [name, value] of this.secrets) redacted = redacted.split(value).join(`[secret ${name}]`);
    return redacted;
  }

  /**
   * Where the text that can go out now ends: before the longest end of `text` that could be the start of a value,
   * and before any whole value that would be cut there (moved back until no value crosses the split).
   */
  private safeEnd(text: string): number {
    let split = text.length - this.heldBack(text);
    for (let moved = true; moved;) {
      moved = false;
      for (const [, value] of this.secrets) {
        for (let at = text.indexOf(value); at >= 0 && at < split; at = text.indexOf(value, at + 1)) {
          if (at + value.length > split) {
            split = at;
            moved = true;
          }
        }
      }
    }
    return split;
  }

  /** The length of the longest end of `text` that is a proper prefix of a secret. */
  private heldBack(text: string): number {
    let longest = 0;
    for (const [, value] of this.secrets) {
      for (let length = Math.min(value.length - 1, text.length); length > longest; length--) {
        if (text.endsWith(value.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
