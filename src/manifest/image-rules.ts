/**
 * The rules an image imposes on manifest entries beyond their syntax,
 * shared by `manifest lint`, `build-live --plan` and the build, so that
 * what lint passes the build accepts: illumos's own name and path limits
 * (in the image, whatever the build host allows) and the files the build
 * writes itself.
 */
import { BUILDSTAMP_FILE, MANIFEST_COPY } from '../formats/output-layout.js';
import { nonDirectoryParents } from './path.js';
import { errorAt, TYPE_NAMES, type Diagnostic, type ManifestEntry } from './types.js';

/** Files the build itself writes into the image (docs/output-layout.md). */
const BUILD_WRITES = [BUILDSTAMP_FILE, MANIFEST_COPY];

/** illumos MAXNAMLEN: the longest name of one path component, in bytes. */
export const MAX_NAME_BYTES = 255;
/** illumos MAXPATHLEN (1024, with its NUL): "/" + path must fit. */
export const MAX_PATH_BYTES = 1022;
/** illumos MAXPATHLEN - 1: the longest symlink text. */
export const MAX_LINK_TEXT_BYTES = 1023;

function lengthErrors(entry: ManifestEntry): string[] {
  const out: string[] = [];
  const bytes = Buffer.byteLength(entry.path);
  if (bytes > MAX_PATH_BYTES) {
    out.push(
      `${entry.path.slice(0, 60)}...: the path is ${bytes} bytes; illumos paths in the image are at most ${MAX_PATH_BYTES} bytes (MAXPATHLEN)`,
    );
  }
  for (const name of entry.path.split('/')) {
    const n = Buffer.byteLength(name);
    if (n > MAX_NAME_BYTES) {
      out.push(
        `${entry.path.slice(0, 60)}...: a name is ${n} bytes; names are at most ${MAX_NAME_BYTES} bytes (MAXNAMLEN)`,
      );
      break;
    }
  }
  if (entry.type === 's' && Buffer.byteLength(entry.target) > MAX_LINK_TEXT_BYTES) {
    out.push(
      `${entry.path}: the link text is ${Buffer.byteLength(entry.target)} bytes; illumos allows at most ${MAX_LINK_TEXT_BYTES} (MAXPATHLEN)`,
    );
  }
  return out;
}

/**
 * The build writes BUILD_WRITES into the staged tree: a manifest that makes
 * one of them, or one of their parents, something other than what the
 * build writes would send that write through a symlink, possibly out of
 * the output directory.
 */
function buildWriteErrors(entries: ReadonlyMap<string, ManifestEntry>): Diagnostic[] {
  const errors: Diagnostic[] = [];
  for (const path of BUILD_WRITES) {
    const own = entries.get(path);
    if (own && own.type !== 'f') {
      errors.push(
        errorAt(own, `${path} is a ${TYPE_NAMES[own.type]}, but the build writes it as a file`),
      );
    }
    for (const p of nonDirectoryParents(entries, path)) {
      const message =
        `${p.path} is a ${TYPE_NAMES[p.type]}, but the build writes ${path} below it: ` +
        `${p.path} must be a directory`;
      errors.push(errorAt(p, message));
    }
  }
  return errors;
}

/** Every error of these rules in the merged entries, at each entry's file:line. */
export function imageRuleErrors(entries: ReadonlyMap<string, ManifestEntry>): Diagnostic[] {
  const errors: Diagnostic[] = [];
  for (const entry of entries.values()) {
    for (const message of lengthErrors(entry)) errors.push(errorAt(entry, message));
  }
  errors.push(...buildWriteErrors(entries));
  return errors;
}
