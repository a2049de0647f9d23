/**
 * An error the user can cause and fix (a bad config value, a missing chart, no helm binary).
 *
 * `main.ts` prints its message without a stack trace and exits non-zero; anything else is a bug
 * and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
