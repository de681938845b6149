/**
 * Errors a user can act on. The CLI and the actions print `message` alone
 * (never a stack trace) and exit with `exitCode`.
 */
export class UserError extends Error {
  readonly exitCode: number;
  readonly details: readonly string[];

  constructor(message: string, options: { exitCode?: number; details?: readonly string[] } = {}) {
    super(message);
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details ?? [];
  }
}

/** A bad command line: exit code 2 (docs/exit-codes.md). */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
    this.name = 'UsageError';
  }
}

/** Node's system errors carry a `code` such as ENOENT; this reads it safely. */
export function errnoCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err) {
    const code = err.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

const REASONS: Record<string, string> = {
  ENOENT: 'does not exist',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EEXIST: 'already exists',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large (a file size limit)',
  ENAMETOOLONG: 'file name too long',
};

/**
 * The conditions of a file system that stop a build whatever the entry:
 * a full disk, a quota, a size limit, a read-only or failing device. They
 * are errors (exit 1, docs/exit-codes.md), never a "missing file".
 */
const IO_CONDITIONS = new Set(['ENOSPC', 'EIO', 'EDQUOT', 'EFBIG', 'EROFS']);

/** True for an error of IO_CONDITIONS. */
export function isIoCondition(err: unknown): boolean {
  const code = errnoCode(err);
  return code !== undefined && IO_CONDITIONS.has(code);
}

/**
 * The UserError for an I/O condition met while `doing` ("write", "copy X
 * to") `path`: the path and the condition, with its code
 * ("cannot write out/x: no space left on device (ENOSPC)").
 */
export function ioError(err: unknown, doing: string, path: string): UserError {
  const code = errnoCode(err);
  return new UserError(`cannot ${doing} ${path}: ${describeError(err)}${code ? ` (${code})` : ''}`);
}

/** A short human reason for a system error ("does not exist", ...). */
export function describeError(err: unknown): string {
  const code = errnoCode(err);
  if (code && REASONS[code]) return REASONS[code];
  if (err instanceof Error) return err.message;
  return String(err);
}
