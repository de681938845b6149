/**
 * The archive phase of `build-live` (docs/output-layout.md):
 * boot_archive.manifest and its copy in the image, the boot_archive in the
 * chosen format, the kernel beside it.
 */
import { statSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { EarlyDeflate } from '../archive/early-deflate.js';
import { writeHsfs, writeHsfsFromTree, type HsfsSource, type IsoTool } from '../archive/hsfs.js';
import { contentOffset } from '../archive/tgz.js';
import { planUfsWithTable, type UfsPlan } from '../archive/ufs/plan.js';
import type { UfsInode } from '../archive/ufs/tree.js';
import { writeUfs, type WriteUfsOptions } from '../archive/ufs/write.js';
import { writeUfsNative } from '../archive/ufs-native.js';
import { bootManifestLines } from '../formats/boot-manifest.js';
import {
  BOOT_ARCHIVE,
  BOOT_ARCHIVE_HASH,
  BOOT_ARCHIVE_MANIFEST,
  IMAGE_KERNEL,
  MANIFEST_COPY,
  type OutputLayout,
  type WorkLayout,
} from '../formats/output-layout.js';
import { builtFileNode, contentPath, ROOT_DIR, type ImageNode } from '../image/model.js';
import type { ImageIdentities } from '../image/owners.js';
import { AtomicLineWriter } from '../util/atomic.js';
import { md5OfFile } from '../util/copy.js';
import { humanBytes } from '../util/format.js';
import { isUfs } from './archive-choice.js';
import type { CheckedInputs } from './check.js';
import { writing } from './output.js';
import { bootManifestSize, withManifestLine } from './plan-live.js';
import { ensureParents, type StagedImage } from './stage.js';
import { checkMaxSize } from './ufs-options.js';
import { hashLocatedFiles, separateSharedSources } from './hash-located.js';

export interface WrittenArchive {
  ufsPlan?: UfsPlan;
  /**
   * The blocks of the tgz deflated while our UFS writer wrote the image
   * (src/archive/early-deflate.ts), for the tgz step; it disposes of them.
   */
  early?: EarlyDeflate;
}

/** Phase: boot_archive.manifest (and its copy), the boot_archive, its hash and the kernel. */
export async function writeArchive(
  checked: CheckedInputs,
  dirs: { layout: OutputLayout; work: WorkLayout },
  staged: StagedImage,
  info: (message: string) => void,
): Promise<WrittenArchive> {
  const { archive, isoTool, ufsOptions, prepared, mode } = checked;
  const { image, ids, warnings } = staged;
  const { layout, work } = dirs;
  const { stagingRoot } = work;
  const epoch = prepared.epoch;
  await ensureParents(MANIFEST_COPY, image, { stagingRoot, ids, warnings, mode });
  image.delete(MANIFEST_COPY);
  const archiveDir = layout.archiveDir(work.platformPartial);
  await mkdir(archiveDir, { recursive: true });
  const bootManifest = async () => {
    await writing(archiveDir, () => writeBootManifest(image, ids, archiveDir, stagingRoot));
    return join(stagingRoot, MANIFEST_COPY);
  };
  // One pass (docs/assembly.md): a located build's md5s come from the
  // writer's reads (UFS) or one read of each source before xorriso's (hsfs),
  // and boot_archive.manifest once every file is hashed.
  const located = mode.kind === 'located';
  const onePass =
    located && archive !== 'hsfs' ? hashWhileWriting(image, ids, bootManifest) : undefined;
  const lateHsfs =
    located && archive === 'hsfs'
      ? await hashWhileXorriso(image, stagingRoot, bootManifest)
      : undefined;
  if (!onePass && !lateHsfs) await bootManifest();
  const fileOf = (path: string) => {
    const node = image.get(path)!;
    return contentPath(node.type === 'h' ? image.get(node.linkedFile!)! : node, stagingRoot);
  };
  const written: WrittenArchive = {};
  const abandon = (err: unknown) => {
    written.early?.dispose();
    throw err;
  };
  if (archive === 'hsfs') {
    const from = located ? ', each file from its source (nothing staged)' : '';
    info(`hsfs: writing boot_archive with ${isoTool!.name}${from}`);
    const output = join(archiveDir, BOOT_ARCHIVE);
    if (isoTool!.name === 'xorriso') {
      written.early = earlyDeflate(output, Infinity, layout, work, epoch);
    }
    await writing(output, () =>
      whileWritten(
        output,
        written.early,
        packHsfs(isoTool!, image, { layout, work, epoch, fileOf, located: lateHsfs }),
      ),
    ).catch(abandon);
  } else if (isUfs(archive)) {
    const planOptions = { ...ufsOptions, stagingRoot, contentPath: fileOf, root: ROOT_DIR };
    info(`${archive}: planning the boot_archive`);
    const { plan: ufsPlan, table } = withManifestLine(prepared, () =>
      planUfsWithTable(image.values(), planOptions),
    );
    checkMaxSize(ufsPlan, ufsOptions, 'after the customize step');
    info(
      `${archive}: writing a ${humanBytes(ufsPlan.imageBytes)} boot_archive ` +
        `(${ufsPlan.inodes} inodes, ${ufsPlan.inodesUsed} used)`,
    );
    written.ufsPlan = ufsPlan;
    if (archive === 'ufs') {
      written.early = earlyDeflate(work.ufsPartial, ufsPlan.imageBytes, layout, work, epoch);
    }
    await writing(join(archiveDir, BOOT_ARCHIVE), () =>
      packUfs(archive, { plan: ufsPlan, table }, image, {
        layout,
        work,
        epoch,
        fileOf,
        onePass,
        onSettled: written.early && ((settled) => written.early!.settled(settled)),
      }),
    ).catch(abandon);
  }
  if (checked.packs) {
    info('kernel: copying the kernel beside the boot_archive');
    await writing(archiveDir, () => finishBootArchive(image, layout, work, fileOf));
  }
  await normalizeModes(work.platformPartial);
  return written;
}

/**
 * boot_archive.manifest (docs/boot-archive-manifest.md) into the platform directory, and its copy
 * at var/log/manifest in the image, which does not list itself.
 */
async function writeBootManifest(
  image: Map<string, ImageNode>,
  ids: ImageIdentities,
  archiveDir: string,
  stagingRoot: string,
): Promise<void> {
  const path = join(archiveDir, BOOT_ARCHIVE_MANIFEST);
  const writer = new AtomicLineWriter(path);
  for (const line of bootManifestLines(image.values(), ids)) await writer.line(line);
  await writer.commit();
  await rm(join(stagingRoot, MANIFEST_COPY), { force: true });
  await copyFile(path, join(stagingRoot, MANIFEST_COPY));
  image.set(MANIFEST_COPY, { ...manifestCopyNode(), ...(await md5OfFile(path)) });
}

/** The copy of boot_archive.manifest in the image (docs/output-layout.md), without its size. */
function manifestCopyNode(): ImageNode {
  return builtFileNode(MANIFEST_COPY, 'manifest-copy', 0o444);
}

/** What a boot_archive writer is given: where it goes, the time, each file's content path. */
interface PackContext {
  layout: OutputLayout;
  work: WorkLayout;
  epoch: number;
  fileOf: (path: string) => string;
}

/** The hsfs boot_archive: from the staged tree, or each file from where it is (located). */
async function packHsfs(
  tool: IsoTool,
  image: ReadonlyMap<string, ImageNode>,
  how: PackContext & { located?: LateHsfs },
): Promise<void> {
  const { layout, work, epoch, fileOf, located } = how;
  const output = join(layout.archiveDir(work.platformPartial), BOOT_ARCHIVE);
  const source: HsfsSource = located
    ? { kind: 'located', fileOf: (node) => fileOf(node.path), late: located.late }
    : { kind: 'tree', stagingRoot: work.stagingRoot };
  const nodes = located?.nodes ?? [...image.values()];
  const options = { tool, source, nodes, output, epoch };
  if (tool.name === 'xorriso') await writeHsfs({ ...options, commandFile: work.xorrisoCommands });
  else await writeHsfsFromTree(options);
}

/** A located hsfs image: its nodes now, and the copy of boot_archive.manifest when hashed. */
interface LateHsfs {
  nodes: ImageNode[];
  late: Promise<ImageNode[]>;
}

/**
 * A located hsfs build (docs/assembly.md, "One pass"): image files that
 * are one disk file are copied apart first; then each other source is
 * hashed while xorriso builds its tree, and boot_archive.manifest written,
 * whose copy xorriso adds last (`late`), before it writes the image.
 */
async function hashWhileXorriso(
  image: Map<string, ImageNode>,
  stagingRoot: string,
  bootManifest: () => Promise<string>,
): Promise<LateHsfs> {
  await separateSharedSources(image, stagingRoot);
  const nodes = [...image.values()];
  const late = hashLocatedFiles(image, stagingRoot).then(async () => {
    await bootManifest();
    return [image.get(MANIFEST_COPY)!];
  });
  // Awaited by the xorriso run; until then a failure must not count as unhandled.
  late.catch(() => undefined);
  return { nodes, late };
}

/**
 * The writer's part in a one-pass build: the copy of boot_archive.manifest
 * goes into the image at the size its lines will have, each file's md5
 * comes from the writer (hard links take their file's), and
 * boot_archive.manifest is written (`bootManifest`) once every file is
 * hashed; the writer then fills the copy's blocks from it.
 */
function hashWhileWriting(
  image: Map<string, ImageNode>,
  ids: ImageIdentities,
  bootManifest: () => Promise<string>,
): Pick<WriteUfsOptions, 'onHashed' | 'deferred'> {
  const size = bootManifestSize(image.values(), ids);
  image.set(MANIFEST_COPY, { ...manifestCopyNode(), size, diskBytes: size });
  const fileOf = (node: ImageNode) => (node.type === 'h' ? image.get(node.linkedFile!)! : node);
  return {
    onHashed: (path, md5) => {
      fileOf(image.get(path)!).md5 = md5;
    },
    deferred: {
      path: MANIFEST_COPY,
      content: () => {
        image.delete(MANIFEST_COPY);
        for (const node of image.values()) {
          if (node.type === 'h' && node.linkText === undefined) node.md5 = fileOf(node).md5;
          if (node.type !== 'd' && node.type !== 's' && node.linkText === undefined && !node.md5) {
            throw new Error(`internal error: ${node.path} was not hashed while it was written`);
          }
        }
        return bootManifest();
      },
    },
  };
}

/**
 * The tgz's blocks deflated while the writer writes the image: the tar
 * stream before the image is known from the layout and the plan.
 */
function earlyDeflate(
  image: string,
  imageBytes: number,
  layout: OutputLayout,
  work: WorkLayout,
  epoch: number,
): EarlyDeflate {
  const platform = work.platformPartial;
  const file = relative(platform, join(layout.archiveDir(platform), BOOT_ARCHIVE));
  const size = Number.isFinite(imageBytes) ? imageBytes : 0;
  const imageOffset = contentOffset(layout.platformName, file.split(sep).join('/'), size, epoch);
  return new EarlyDeflate({ image, imageBytes, imageOffset, spill: work.deflateSpill });
}

/** How often the hsfs image is looked at while xorriso writes it. */
const WATCH_MS = 50;
/** The start of an ISO image, which xorriso writes last (docs/output-layout.md). */
const ISO_WRITTEN_LAST = 64 << 10;

/**
 * While `writing` runs, what xorriso has written of `image` so far is
 * handed to `early`: xorriso writes the image in order from 64 KiB on and
 * the first 64 KiB last. Should it ever write elsewhere, the blocks made
 * from bytes that changed are not used (src/archive/early-deflate.ts).
 */
async function whileWritten<T>(
  image: string,
  early: EarlyDeflate | undefined,
  writing: Promise<T>,
): Promise<T> {
  if (!early) return writing;
  const timer = setInterval(() => {
    let size: number;
    try {
      size = statSync(image).size;
    } catch {
      return; // not created yet
    }
    early.settled({ below: size, except: [[0, ISO_WRITTEN_LAST]] });
  }, WATCH_MS);
  try {
    return await writing;
  } finally {
    clearInterval(timer);
  }
}

/** The UFS boot_archive, by our writer or the upstream way. */
async function packUfs(
  archive: 'ufs' | 'ufs-native',
  { plan, table }: { plan: UfsPlan; table: UfsInode[] },
  image: ReadonlyMap<string, ImageNode>,
  how: PackContext & {
    onePass?: Pick<WriteUfsOptions, 'onHashed' | 'deferred'>;
    onSettled?: WriteUfsOptions['onSettled'];
  },
): Promise<void> {
  const { layout, work, epoch, fileOf } = how;
  const output = join(layout.archiveDir(work.platformPartial), BOOT_ARCHIVE);
  const nodes = [...image.values()];
  const { stagingRoot } = work;
  if (archive === 'ufs') {
    const partial = work.ufsPartial;
    await writeUfs({
      stagingRoot,
      contentPath: fileOf,
      nodes,
      root: ROOT_DIR,
      output: partial,
      epoch,
      plan,
      table,
      ...how.onePass,
      onSettled: how.onSettled,
    });
    await rename(partial, output);
  } else {
    await writeUfsNative({ stagingRoot, nodes, output, epoch, plan, workDir: work.dir });
  }
}

/**
 * The kernel beside the boot_archive, and its .hash at its final size: the
 * sha1 is taken, and written into it, as the tgz packs the boot_archive.
 */
async function finishBootArchive(
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  work: WorkLayout,
  fileOf: (path: string) => string,
): Promise<void> {
  const archiveDir = layout.archiveDir(work.platformPartial);
  await writeFile(join(archiveDir, BOOT_ARCHIVE_HASH), `${'0'.repeat(40)}\n`);
  if (image.get(IMAGE_KERNEL)?.type === 'f') {
    const kernelDir = layout.kernelDir(work.platformPartial);
    await mkdir(kernelDir, { recursive: true });
    await copyFile(fileOf(IMAGE_KERNEL), join(kernelDir, 'unix'));
  }
}

/** Platform files get fixed modes, whatever the umask, so the tgz is reproducible. */
async function normalizeModes(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await normalizeModes(path);
    else await chmod(path, 0o644);
  }
}
