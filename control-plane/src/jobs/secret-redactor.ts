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
    const buffer = this.redact(this.carry + text);
    const held = this.heldBack(buffer);
    this.carry = buffer.slice(buffer.length - held);
    return buffer.slice(0, buffer.length - held);
  }

  /** What was held back (the stream ended, so it cannot become a secret any more). */
  flush(): string {
    const rest = this.carry;
    this.carry = "";
    return rest;
  }

  /** Redacts a whole text at once (results, messages). */
  redact(text: string): string {
    let redacted = text;
    for (const [name, value] of this.secrets) redacted = redacted.split(value).join(`[secret ${name}]`);
    return redacted;
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
