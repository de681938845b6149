/**
 * The check that matters for `--archive ufs`: a kernel we did not write
 * reads the boot_archive. Boots Debian's Linux kernel under QEMU (software
 * emulation, no root needed for the boot itself) with the image as a
 * read-only virtio disk, mounts it with Linux's UFS driver
 * (`-t ufs -o ro,ufstype=sunx86`), lists it with `ls -lnRAi` and
 * `md5sum`, and compares that, entry by entry, with boot_archive.manifest
 * (path, type, mode, uid, gid, link target, md5) and the link counts with
 * the tree (files: the paths sharing an inode; directories: 2 + subdirectories).
 *
 * Then, in the same boot, the read-write check SmartOS needs (it remounts
 * its root read-write in its first seconds): Linux's `ufs` module built
 * with CONFIG_UFS_FS_WRITE from Debian's linux-source against the matching
 * linux-headers (Debian's own kernel is built read-only), `mount -o ro`,
 * `remount,rw`, files of 1 and 3 fragments, of single-indirect size and
 * 8 MiB, a sparse file, a directory grown past one block, a symlink and a
 * hard link, an append to a file of the image with a fragment tail, a file
 * and a directory of the image removed, the freed space reused, umount.
 * Afterwards our illumos-rules fsck must find nothing and our reader must
 * agree with what the guest lists and the md5s it prints.
 *
 * Our own checks run too: the fsck on every image, and the boot-time-
 * semantics reader (ufs/boot-read.ts) reproduces the md5 of every file
 * under kernel/ and platform/.
 *
 * Images: the fixtures (`npm start`'s build), 30,000 empty files (more
 * inodes than one cylinder group may hold) and the 2011-scale synthetic
 * image (manifest-2011-09, 18,856 entries; skipped with a message when
 * ../shared is absent). Every build runs as an unprivileged user when this
 * runs as root. Run with `npm run test:kernel`; it exits non-zero on any
 * difference. Downloads and the built module are cached in .cache/kernel-check/.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { BootUfsReader } from '../../src/archive/ufs/boot-read.js';
import { fsckUfs } from '../../src/archive/ufs/fsck.js';
import { UfsReader } from '../../src/archive/ufs/read.js';
import { readBootManifest, type BootEntry } from '../../src/formats/boot-manifest.js';
import { which } from '../../src/util/which.js';
import { isRoot, runCaptured, runCli } from '../helpers/cli.js';
import { fixtureArgs, hasSharedData, REPO_ROOT, SMARTOS_DATA } from '../helpers/paths.js';
import { synthesizeSources } from '../helpers/synth-proto.js';

const MANIFEST_COPY = 'var/log/manifest';
const CACHE = join(REPO_ROOT, '.cache', 'kernel-check');
const EPOCH = '1323461708';
const BUILDSTAMP = '20111209T201508Z';
/** Bytes of synthesized content for the 2011-scale image (a real 2011 archive is ~300 MB). */
const SYNTH_BYTES = Number(process.env.KERNEL_CHECK_SYNTH_BYTES ?? 300_000_000);
const MODULES = [
  'drivers/virtio/virtio_ring',
  'drivers/virtio/virtio',
  'drivers/virtio/virtio_pci_modern_dev',
  'drivers/virtio/virtio_pci_legacy_dev',
  'drivers/virtio/virtio_pci',
  'drivers/block/virtio_blk',
  'fs/ufs/ufs',
];

function log(message: string): void {
  process.stdout.write(`kernel-check: ${message}\n`);
}

async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const r = await runCaptured(command, args, { cwd });
  if (r.code !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

async function debInstalled(pkg: string): Promise<boolean> {
  const r = await runCaptured('dpkg-query', ['-W', '-f=${Status}', pkg]);
  return r.code === 0 && r.stdout.includes('install ok installed');
}

/** qemu-system-x86_64 and a static busybox, and what builds a module, installed from Debian when missing. */
async function ensureTools(): Promise<{ qemu: string; busybox: string }> {
  const missing: string[] = [];
  if (!(await which('qemu-system-x86_64'))) missing.push('qemu-system-x86');
  if (!(await debInstalled('busybox-static'))) missing.push('busybox-static');
  for (const [tool, pkg] of [
    ['gcc', 'gcc'],
    ['make', 'make'],
    ['xz', 'xz-utils'],
  ])
    if (!(await which(tool))) missing.push(pkg);
  if (missing.length > 0) {
    if (!isRoot) throw new Error(`install ${missing.join(' ')} (Debian) to run the kernel check`);
    log(`installing ${missing.join(' ')}`);
    process.env.DEBIAN_FRONTEND = 'noninteractive';
    await run('apt-get', ['update', '-qq']);
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  }
  return { qemu: (await which('qemu-system-x86_64'))!, busybox: '/bin/busybox' };
}

/** Debian's current amd64 kernel, downloaded once and unpacked into the cache. */
async function ensureKernel(): Promise<{
  vmlinuz: string;
  modules: string;
  pkg: string;
  version: string;
}> {
  let depends = await runCaptured('apt-cache', ['depends', 'linux-image-amd64']).then((r) =>
    r.code === 0 ? r.stdout : '',
  );
  if (!depends.includes('Depends:') && isRoot) {
    await run('apt-get', ['update', '-qq']); // a fresh machine has no package lists yet
    depends = await run('apt-cache', ['depends', 'linux-image-amd64']);
  }
  const pkg = /Depends: (linux-image-\S+)/.exec(depends)?.[1];
  if (!pkg) throw new Error('apt-cache names no kernel package for linux-image-amd64');
  const dir = join(CACHE, pkg);
  if (!existsSync(join(dir, 'boot'))) {
    log(`downloading ${pkg}`);
    const debs = join(CACHE, 'debs');
    await mkdir(debs, { recursive: true });
    await chmod(debs, 0o777); // apt-get download drops to _apt when it can
    for (const f of await readdir(debs)) if (f.startsWith(`${pkg}_`)) await rm(join(debs, f));
    await run('apt-get', ['download', '-q', pkg], debs);
    const deb = (await readdir(debs)).find((f) => f.startsWith(`${pkg}_`));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb`);
    await rm(`${dir}.partial`, { recursive: true, force: true });
    const unpacked = `${dir}.unpacked`;
    await rm(unpacked, { recursive: true, force: true });
    await run('dpkg', ['-x', join(debs, deb), unpacked]);
    // Keep only what the check boots: the kernel and the few modules it loads.
    const partial = `${dir}.partial`;
    await rm(partial, { recursive: true, force: true });
    const kernelFile = (await readdir(join(unpacked, 'boot'))).find((f) =>
      f.startsWith('vmlinuz-'),
    );
    const version = (await readdir(join(unpacked, 'lib', 'modules')))[0];
    if (!kernelFile || !version) throw new Error(`${deb}: no kernel or modules inside`);
    await mkdir(join(partial, 'boot'), { recursive: true });
    await copyFile(join(unpacked, 'boot', kernelFile), join(partial, 'boot', kernelFile));
    for (const m of MODULES) {
      const rel = join('lib', 'modules', version, 'kernel', `${m}.ko`);
      await mkdir(join(partial, rel, '..'), { recursive: true });
      await copyFile(join(unpacked, rel), join(partial, rel));
    }
    await rm(unpacked, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
    await run('mv', [partial, dir]);
    await rm(join(debs, deb));
  }
  const boot = await readdir(join(dir, 'boot'));
  const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
  const version = (await readdir(join(dir, 'lib', 'modules')))[0];
  if (!vmlinuz || !version) throw new Error(`${dir}: no kernel or modules`);
  return {
    vmlinuz: join(dir, 'boot', vmlinuz),
    modules: join(dir, 'lib', 'modules', version),
    pkg,
    version,
  };
}

/** `apt-cache show` field of a package (its first version). */
async function aptField(pkg: string, field: string): Promise<string> {
  const text = await run('apt-cache', ['show', pkg]);
  const value = new RegExp(`^${field}: (.*)$`, 'm').exec(text)?.[1];
  if (!value) throw new Error(`apt-cache show ${pkg} gives no ${field}`);
  return value.trim();
}

/**
 * Linux's ufs module with write support, for the kernel the check boots:
 * fs/ufs from Debian's linux-source of the kernel's version, built against
 * its linux-headers (only that directory: `make -C <headers> M=<dir>`).
 * Built once, kept in the cache; the packages are removed afterwards.
 */
async function ensureRwModule(kernel: { pkg: string; version: string }): Promise<string> {
  const debVersion = await aptField(kernel.pkg, 'Version');
  const dir = join(CACHE, `ufs-rw-${kernel.version}-${debVersion}`);
  const module = join(dir, 'ufs.ko');
  if (existsSync(module)) return module;
  const headers = `linux-headers-${kernel.version}`;
  const depends = await run('apt-cache', ['depends', headers]);
  const common = /Depends: (linux-headers-\S+-common)/.exec(depends)?.[1];
  const kbuild = /Depends: (linux-kbuild-(\d+\.\d+))/.exec(depends);
  if (!common || !kbuild)
    throw new Error(`apt-cache depends ${headers}: no -common or kbuild package`);
  const source = `linux-source-${kbuild[2]}`;
  const pkgs = [headers, common, kbuild[1], source];
  log(
    `building the ufs module with write support from ${pkgs.map((p) => `${p}=${debVersion}`).join(' ')}`,
  );
  const started = performance.now();
  const work = `${dir}.partial`;
  await rm(work, { recursive: true, force: true });
  const debs = join(work, 'debs');
  await mkdir(debs, { recursive: true });
  await chmod(work, 0o777);
  await chmod(debs, 0o777); // apt-get download drops to _apt when it can
  await run('apt-get', ['download', '-q', ...pkgs.map((p) => `${p}=${debVersion}`)], debs);
  const root = join(work, 'root');
  for (const deb of await readdir(debs))
    if (!deb.startsWith(`${source}_`)) await run('dpkg', ['-x', join(debs, deb), root]);
  // The headers' Makefile includes the -common tree by its installed path.
  const hdir = join(root, 'usr', 'src', headers);
  const makefile = join(hdir, 'Makefile');
  await writeFile(
    makefile,
    (await readFile(makefile, 'utf8')).replaceAll('/usr/src/', `${join(root, 'usr', 'src')}/`),
  );
  const srcDeb = (await readdir(debs)).find((f) => f.startsWith(`${source}_`));
  if (!srcDeb) throw new Error(`apt-get download ${source} left no .deb`);
  const tarball = `./usr/src/${source}.tar.xz`;
  await run(
    'sh',
    ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" | xz -dc | tar -x "$3/fs/ufs"`, 'sh', join(debs, srcDeb), tarball, source], // prettier-ignore
    work,
  );
  const moddir = join(work, source, 'fs', 'ufs');
  await run('make', ['-C', hdir, `M=${moddir}`, 'CONFIG_UFS_FS=m', 'KCFLAGS=-DCONFIG_UFS_FS_WRITE', 'modules'], work); // prettier-ignore
  const vermagic = (await readFile(join(moddir, 'ufs.ko'))).toString('latin1');
  if (!vermagic.includes(`vermagic=${kernel.version} `))
    throw new Error(`the built ufs.ko is not for ${kernel.version}`);
  await mkdir(dir, { recursive: true });
  await copyFile(join(moddir, 'ufs.ko'), `${module}.tmp`);
  await run('mv', [`${module}.tmp`, module]);
  await rm(work, { recursive: true, force: true });
  log(
    `built ${module.replace(`${REPO_ROOT}/`, '')} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return module;
}

/** What the guest lists of a mounted image (sections parsed by parseListing). */
const LIST = `
list() {
  echo '== passwd'; cat etc/passwd 2>/dev/null
  echo '== group'; cat etc/group 2>/dev/null
  echo '== root'; ls -ldn .
  echo '== ls'; ls -lnRAi .
  echo '== md5'; find . -type f -exec md5sum {} +
  echo '== end'
}`;

/**
 * The writes of the read-write check, in the mounted image's root, as a
 * booted SmartOS makes them (new files, a grown directory, links) and
 * beyond (the image's own files appended to and removed).
 */
const RW_STEPS = `set -e
df -k . | tail -1 | sed 's/^/KCHECK-DF before /'
mkdir kcheck-rw
head -c 1000 /dev/urandom > kcheck-rw/one-fragment
head -c 3000 /dev/urandom > kcheck-rw/three-fragments
head -c 200000 /dev/urandom > kcheck-rw/single-indirect
head -c 8388608 /dev/urandom > kcheck-rw/eight-mib
dd if=/dev/urandom of=kcheck-rw/sparse bs=4096 count=1 seek=25600 2>/dev/null
mkdir kcheck-rw/grown
i=0
while [ $i -lt 300 ]; do : > kcheck-rw/grown/a-name-long-enough-to-fill-directory-blocks-$i; i=$((i+1)); done
ln -s ../etc/passwd kcheck-rw/symlink
ln kcheck-rw/three-fragments kcheck-rw/hard-link
f=$(find . -path ./kcheck-rw -prune -o -type f -size +1k -size -40k -print | head -1)
[ -n "$f" ] && printf 'appended by the kernel check\\n' >> "$f" && echo "KCHECK-RW appended to $f"
f=$(find . -path ./kcheck-rw -prune -o -type f -size +20k -print | head -1)
[ -n "$f" ] && rm "$f" && echo "KCHECK-RW removed $f"
d=$(find . -path ./kcheck-rw -prune -o -type d -empty -print | head -1)
[ -n "$d" ] && rmdir "$d" && echo "KCHECK-RW removed directory $d"
rm kcheck-rw/eight-mib
head -c 8388608 /dev/urandom > kcheck-rw/eight-mib-again
sync
df -k . | tail -1 | sed 's/^/KCHECK-DF after /'
`;

/**
 * The guest's /init: list the image with Debian's module (read-only), then
 * with the write-enabled one remount read-write, write, umount, list again;
 * both listings go onto the second disk; markers on the console; power off.
 */
const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin /proc /sys /dev /mnt /tmp
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${MODULES.map((m) => m.split('/').pop()).join(' ')}; do
  insmod /lib/modules/$m.ko || echo "KCHECK insmod $m failed"
done
${LIST}
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo KCHECK-BEGIN
status=0
: > /tmp/out
if mount -t ufs -o ro,ufstype=sunx86 /dev/vda /mnt; then
  echo KCHECK-STAGE mounted read-only
  cd /mnt
  { echo '=== ro'; list; } >> /tmp/out 2>> /tmp/err || status=ro-list-failed
  echo KCHECK-STAGE listed read-only
  cd /
  umount /mnt
else
  status=mount-failed
fi
rmmod ufs
if [ "$status" = 0 ]; then
  insmod /lib/modules/ufs-rw.ko || status=insmod-rw-failed
fi
if [ "$status" = 0 ]; then
  if mount -t ufs -o ro,ufstype=sunx86 /dev/vda /mnt && mount -o remount,rw /mnt; then
    echo KCHECK-STAGE remounted read-write
    cd /mnt
    sh /rw-steps.sh > /tmp/rwlog 2>&1 || status=rw-steps-failed
    echo KCHECK-STAGE wrote
    cd /
    umount /mnt || status=umount-failed
    echo KCHECK-STAGE unmounted after writing
  else
    status=remount-rw-failed
  fi
fi
if [ "$status" = 0 ]; then
  if mount -t ufs -o ro,ufstype=sunx86 /dev/vda /mnt; then
    cd /mnt
    { echo '=== rw'; list; } >> /tmp/out 2>> /tmp/err || status=rw-list-failed
    echo KCHECK-STAGE listed after writing
    cd /
    umount /mnt
  else
    status=mount-after-rw-failed
  fi
fi
cat /tmp/err 2>/dev/null | head -20
cat /tmp/rwlog 2>/dev/null | head -40
dd if=/tmp/out of=/dev/vdb bs=1M 2>/dev/null
sync
dmesg | grep -i ufs | sed 's/^/KCHECK-DMESG /'
echo "KCHECK-END status=$status bytes=$(wc -c < /tmp/out) lines=$(wc -l < /tmp/out)"
poweroff -f
`;

async function buildInitrd(
  kernel: { modules: string },
  rwModule: string,
  busybox: string,
  work: string,
): Promise<string> {
  const root = join(work, 'initramfs');
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'lib', 'modules'), { recursive: true });
  await copyFile(busybox, join(root, 'bin', 'busybox'));
  await chmod(join(root, 'bin', 'busybox'), 0o755);
  for (const m of MODULES) {
    const name = m.split('/').pop()!;
    await copyFile(
      join(kernel.modules, 'kernel', `${m}.ko`),
      join(root, 'lib', 'modules', `${name}.ko`),
    );
  }
  await copyFile(rwModule, join(root, 'lib', 'modules', 'ufs-rw.ko'));
  await writeFile(join(root, 'rw-steps.sh'), RW_STEPS, { mode: 0o755 });
  await writeFile(join(root, 'init'), INIT, { mode: 0o755 });
  const initrd = join(work, 'initrd.gz');
  await run(
    'sh',
    ['-c', `find . | ${busybox} cpio -o -H newc 2>/dev/null | gzip -1 > ${initrd}`],
    root,
  );
  return initrd;
}

interface Guest {
  console: string;
  status: string;
  output: string;
}

/**
 * How long one boot may take: the 2011-scale image takes about 50 s under
 * software emulation on 2 cores. A guest that goes quiet past this is
 * stopped (the console says after which stage) and booted once more; a
 * second hang fails the check.
 */
const BOOT_LIMIT_MS = 4 * 60 * 1000;

/** A guest that did not reach its end marker in time (not a failed check). */
class GuestHung extends Error {
  constructor(
    readonly where: string,
    readonly consoleText: string,
  ) {
    super(`the guest did not finish within ${BOOT_LIMIT_MS / 60000} min (stopped ${where})`);
  }
}

/** Boots the kernel with `image` as /dev/vda; returns the console and the listing. */
async function boot(
  qemu: string,
  kernel: { vmlinuz: string },
  initrd: string,
  image: string,
  work: string,
): Promise<Guest> {
  const outDisk = join(work, `out-${Date.now()}.img`);
  const fh = await open(outDisk, 'w');
  await fh.truncate(256 * 1024 * 1024);
  await fh.close();
  const args = [
    '-m', '1024', '-nographic', '-no-reboot',
    '-kernel', kernel.vmlinuz, '-initrd', initrd,
    '-append', 'console=ttyS0 panic=-1 loglevel=3',
    '-drive', `file=${image},format=raw,if=virtio`,
    '-drive', `file=${outDisk},format=raw,if=virtio`,
  ]; // prettier-ignore
  let timedOut = false;
  const consoleText = await new Promise<string>((resolve, reject) => {
    const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, BOOT_LIMIT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
  const end = /KCHECK-END status=(\S+) bytes=(\d+)/.exec(consoleText);
  if (!consoleText.includes('KCHECK-BEGIN') || !end) {
    await rm(outDisk, { force: true });
    if (!timedOut)
      throw new Error(
        `the guest stopped before its end marker; console:\n${consoleText.slice(-4000)}`,
      );
    const stages = [...consoleText.matchAll(/^KCHECK-STAGE (.*)$/gm)].map((m) => m[1].trim());
    const where = consoleText.includes('KCHECK-BEGIN')
      ? `after "${stages.at(-1) ?? 'begin'}"`
      : 'before it began';
    throw new GuestHung(where, consoleText);
  }
  const bytes = Number(end[2]);
  const buf = Buffer.alloc(bytes);
  const out = await open(outDisk, 'r');
  await out.read(buf, 0, bytes, 0);
  await out.close();
  await rm(outDisk);
  return { console: consoleText, status: end[1], output: buf.toString('utf8') };
}

interface Listed {
  path: string;
  type: 'd' | 'f' | 's';
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  inode: number;
  target?: string;
  md5?: string;
}

const LS_LINE =
  /^\s*(\d+)\s+([-dl])([-rwxsStT]{9})\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\w{3}\s+\d+\s+\S+ (.*)$/;

function parseMode(perm: string): number {
  let mode = 0;
  const bit = (i: number, c: string, special: number, execChars: string, specialChars: string) => {
    if (c === 'r') mode |= 4 << (3 * (2 - Math.floor(i / 3)));
    if (c === 'w') mode |= 2 << (3 * (2 - Math.floor(i / 3)));
    if (execChars.includes(c)) mode |= 1 << (3 * (2 - Math.floor(i / 3)));
    if (specialChars.includes(c)) mode |= special;
  };
  for (let i = 0; i < 9; i++) {
    const c = perm[i];
    if (i === 2) bit(i, c, 0o4000, 'xs', 'sS');
    else if (i === 5) bit(i, c, 0o2000, 'xs', 'sS');
    else if (i === 8) bit(i, c, 0o1000, 'xt', 'tT');
    else bit(i, c, 0, 'x', '');
  }
  return mode;
}

/** The guest's listing: passwd/group names, every entry, every md5. */
function parseListing(text: string): {
  users: Map<string, number>;
  groups: Map<string, number>;
  root?: Listed;
  entries: Map<string, Listed>;
  lsLines: number;
} {
  const users = new Map<string, number>();
  const groups = new Map<string, number>();
  const entries = new Map<string, Listed>();
  let root: Listed | undefined;
  let section = '';
  let dir = '';
  let lsLines = 0;
  const parseLs = (line: string): Listed | undefined => {
    const m = LS_LINE.exec(line);
    if (!m) return undefined;
    let name = m[7];
    let target: string | undefined;
    if (m[2] === 'l') {
      const arrow = name.indexOf(' -> ');
      target = name.slice(arrow + 4);
      name = name.slice(0, arrow);
    }
    return {
      path: name,
      type: m[2] === 'd' ? 'd' : m[2] === 'l' ? 's' : 'f',
      mode: parseMode(m[3]),
      nlink: Number(m[4]),
      uid: Number(m[5]),
      gid: Number(m[6]),
      inode: Number(m[1]),
      target,
    };
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('== ')) {
      section = line.slice(3);
      continue;
    }
    if (section === 'passwd' || section === 'group') {
      const [name, , id] = line.split(':');
      if (name && id !== undefined) (section === 'passwd' ? users : groups).set(name, Number(id));
    } else if (section === 'root') {
      const m = /^([-dl])([-rwxsStT]{9})\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
      if (m)
        root = { path: '', type: 'd', mode: parseMode(m[2]), nlink: +m[3], uid: +m[4], gid: +m[5], inode: 0 }; // prettier-ignore
    } else if (section === 'ls') {
      if (line === '' || line.startsWith('total ')) continue;
      if (line.endsWith(':') && line.startsWith('.')) {
        dir = line === '.:' ? '' : line.slice(2, -1);
        continue;
      }
      const e = parseLs(line);
      if (!e) throw new Error(`cannot parse ls line: ${line}`);
      lsLines++;
      e.path = dir ? `${dir}/${e.path}` : e.path;
      entries.set(e.path, e);
    } else if (section === 'md5') {
      const m = /^([0-9a-f]{32}) {2}\.\/(.*)$/.exec(line);
      if (m) {
        const e = entries.get(m[2]);
        if (e) e.md5 = m[1];
        else throw new Error(`md5sum lists ${m[2]} that ls did not`);
      }
    }
  }
  return { users, groups, root, entries, lsLines };
}

/** Every difference between the kernel's view and boot_archive.manifest. */
function compare(
  manifest: Map<string, BootEntry>,
  manifestMd5: string,
  guest: ReturnType<typeof parseListing>,
): string[] {
  const problems: string[] = [];
  const id = (names: Map<string, number>, name: string | undefined) =>
    name === undefined ? undefined : (names.get(name) ?? (/^\d+$/.test(name) ? Number(name) : NaN));
  for (const [path, want] of manifest) {
    const got = path === '' ? guest.root : guest.entries.get(path);
    const where = path || '.';
    if (!got) {
      problems.push(`${where}: in the manifest, not in the mounted image`);
      continue;
    }
    if (got.type !== want.type) {
      problems.push(`${where}: type ${got.type}, the manifest says ${want.type}`);
      continue;
    }
    if (want.type === 's') {
      if (got.target !== want.target)
        problems.push(`${where}: links to ${got.target}, the manifest says ${want.target}`);
      continue;
    }
    if (got.mode !== want.mode)
      problems.push(
        `${where}: mode ${got.mode.toString(8)}, the manifest says ${want.mode?.toString(8)}`,
      );
    if (got.uid !== id(guest.users, want.owner))
      problems.push(`${where}: uid ${got.uid}, the manifest says ${want.owner}`);
    if (got.gid !== id(guest.groups, want.group))
      problems.push(`${where}: gid ${got.gid}, the manifest says ${want.group}`);
    if (want.type === 'f' && got.md5 !== want.md5)
      problems.push(`${where}: md5 ${got.md5}, the manifest says ${want.md5}`);
  }
  // var/log/manifest is the manifest's copy, which does not list itself.
  const copy = guest.entries.get(MANIFEST_COPY);
  if (copy?.type !== 'f' || copy.md5 !== manifestMd5 || copy.mode !== 0o444 || copy.uid !== 0)
    problems.push(`${MANIFEST_COPY}: not a copy of boot_archive.manifest (mode 0444, root)`);
  for (const path of guest.entries.keys())
    if (!manifest.has(path) && path !== MANIFEST_COPY)
      problems.push(`${path}: in the mounted image, not in the manifest`);

  // Link counts: a file's is the number of its paths; a directory's 2 + its subdirectories.
  const byInode = new Map<number, number>();
  const subdirs = new Map<string, number>();
  for (const e of guest.entries.values()) {
    if (e.type === 'f') byInode.set(e.inode, (byInode.get(e.inode) ?? 0) + 1);
    if (e.type === 'd') {
      const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
      subdirs.set(parent, (subdirs.get(parent) ?? 0) + 1);
    }
  }
  for (const e of guest.entries.values()) {
    if (e.type === 'f' && e.nlink !== byInode.get(e.inode))
      problems.push(
        `${e.path}: link count ${e.nlink}, ${byInode.get(e.inode)} paths share inode ${e.inode}`,
      );
    if (e.type === 'd' && e.nlink !== 2 + (subdirs.get(e.path) ?? 0))
      problems.push(
        `${e.path}: link count ${e.nlink}, it has ${subdirs.get(e.path) ?? 0} subdirectories`,
      );
  }
  if (guest.root && guest.root.nlink !== 2 + (subdirs.get('') ?? 0))
    problems.push(
      `.: link count ${guest.root.nlink}, it has ${subdirs.get('') ?? 0} subdirectories`,
    );
  return problems;
}

async function sha1(path: string): Promise<string> {
  const hash = createHash('sha1');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** A directory an unprivileged build may write to. */
async function writableDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  if (isRoot) await chown(path, 65534, 65534);
  return path;
}

async function buildImage(name: string, args: string[], work: string): Promise<string> {
  const out = await writableDir(join(work, name, 'output'));
  const logDir = await writableDir(join(work, name, 'log'));
  const started = performance.now();
  const r = await runCli(
    [...args, '--output', out, '--log-dir', logDir, '--buildstamp', BUILDSTAMP, '--archive', 'ufs'],
    { unprivileged: true, env: { SOURCE_DATE_EPOCH: EPOCH } },
  );
  if (r.code !== 0) throw new Error(`build ${name} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(`${name}: built as ${isRoot ? 'uid 65534' : `uid ${process.getuid?.()}`} in ${seconds} s`);
  return join(out, `platform-${BUILDSTAMP}`, 'i86pc', 'amd64');
}

/** Every difference between the guest's listing after the writes and what our reader reads. */
async function compareWithReader(
  image: string,
  guest: ReturnType<typeof parseListing>,
): Promise<string[]> {
  const problems: string[] = [];
  const reader = await UfsReader.open(image);
  const seen = new Set<string>();
  try {
    for await (const e of reader.entries()) {
      if (e.path === '') continue;
      seen.add(e.path);
      const got = guest.entries.get(e.path);
      if (!got) {
        problems.push(`${e.path}: our reader has it, the kernel did not list it`);
        continue;
      }
      if (got.type !== e.type)
        problems.push(`${e.path}: type ${e.type}, the kernel says ${got.type}`);
      else if (e.type === 's' && got.target !== e.target)
        problems.push(`${e.path}: links to ${e.target}, the kernel says ${got.target}`);
      else if (e.type !== 's' && (got.mode !== e.mode || got.uid !== e.uid || got.gid !== e.gid))
        problems.push(`${e.path}: mode/uid/gid ${e.mode.toString(8)}/${e.uid}/${e.gid}, the kernel says ${got.mode.toString(8)}/${got.uid}/${got.gid}`); // prettier-ignore
      else if (e.type === 'f' && got.md5 !== (await reader.md5(e)))
        problems.push(`${e.path}: md5 ${await reader.md5(e)}, the kernel printed ${got.md5}`);
      if (got.nlink !== e.nlink) problems.push(`${e.path}: link count ${e.nlink}, the kernel says ${got.nlink}`); // prettier-ignore
    }
  } finally {
    await reader.close();
  }
  for (const path of guest.entries.keys())
    if (!seen.has(path)) problems.push(`${path}: the kernel listed it, our reader did not find it`);
  return problems;
}

/** The boot-time reader's md5 of every file under kernel/ and platform/, against the manifest. */
async function checkBootReader(
  image: string,
  manifest: Map<string, BootEntry>,
): Promise<{ problems: string[]; files: number }> {
  const problems: string[] = [];
  let files = 0;
  const boot = await BootUfsReader.open(image);
  try {
    for (const [path, e] of manifest) {
      if (e.type !== 'f' || !/^(kernel|platform)\//.test(path)) continue;
      files++;
      const got = await boot.md5(path).catch((err: unknown) => String(err));
      if (got !== e.md5)
        problems.push(`boot-time reader: ${path}: ${got}, the manifest says ${e.md5}`);
    }
  } finally {
    await boot.close();
  }
  return { problems, files };
}

async function checkImage(
  name: string,
  archiveDir: string,
  tools: { qemu: string },
  kernel: { vmlinuz: string },
  initrd: string,
  work: string,
): Promise<boolean> {
  const image = join(archiveDir, 'boot_archive');
  // The guest writes to a copy: the image itself stays as built.
  const copy = join(work, `${name}.rw.img`);
  const attempt = async () => {
    await run('cp', ['--sparse=always', image, copy]);
    return boot(tools.qemu, kernel, initrd, copy, work);
  };
  let started = performance.now();
  let guest: Guest;
  try {
    guest = await attempt();
  } catch (err) {
    // A hang is booted once more, from a fresh copy; a check that fails is not.
    if (!(err instanceof GuestHung)) throw err;
    log(`${name}: ${err.message}; booting it once more`);
    started = performance.now();
    try {
      guest = await attempt();
    } catch (again) {
      if (again instanceof GuestHung)
        throw new Error(`${again.message}, twice; console:\n${again.consoleText.slice(-4000)}`);
      throw again;
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const consoleLines = guest.console.split('\n');
  const dmesg = consoleLines
    .filter((l) => l.startsWith('KCHECK-DMESG'))
    .map((l) => l.slice(13).trim());
  for (const line of dmesg) log(`${name}: kernel: ${line}`);
  for (const line of consoleLines.filter((l) => /^KCHECK-(RW|DF) /.test(l)))
    log(`${name}: guest: ${line.slice(7).trim()}`);
  if (guest.status !== '0') {
    log(`${name}: FAILED: the guest says status=${guest.status}`);
    process.stdout.write(guest.console.slice(-4000));
    await rm(copy, { force: true });
    return false;
  }
  const rwAt = guest.output.indexOf('=== rw\n');
  const listing = parseListing(guest.output.slice(0, rwAt));
  const after = parseListing(guest.output.slice(rwAt));
  const manifest = await readBootManifest(join(archiveDir, 'boot_archive.manifest'));
  const manifestMd5 = createHash('md5')
    .update(await readFile(join(archiveDir, 'boot_archive.manifest')))
    .digest('hex');
  const problems = compare(manifest.entries, manifestMd5, listing);
  if (dmesg.some((l) => /needs fsck|is active|is bad|can't grok|error/i.test(l)))
    problems.push(`the kernel did not take the file system as clean: ${dmesg.join('; ')}`);
  // Our fsck by illumos's rules: what illumos' allocator will trust once it mounts read-write.
  for (const p of await fsckUfs(image)) problems.push(`fsck: ${p}`);
  const bootRead = await checkBootReader(image, manifest.entries);
  problems.push(...bootRead.problems);
  // After Linux wrote to it: still clean by illumos's rules, and our reader agrees with the kernel.
  const written = [...after.entries.keys()].filter((p) => p.startsWith('kcheck-rw/')).length;
  if (written < 300)
    problems.push(`after the writes the kernel lists ${written} kcheck-rw entries`);
  for (const p of await fsckUfs(copy)) problems.push(`fsck after the writes: ${p}`);
  problems.push(...(await compareWithReader(copy, after)).map((p) => `after the writes: ${p}`));
  await rm(copy, { force: true });
  const counts = { d: 0, f: 0, s: 0 };
  for (const e of listing.entries.values()) counts[e.type]++;
  const md5s = [...listing.entries.values()].filter((e) => e.md5).length;
  log(
    `${name}: Linux mounted ${image} (${(await stat(image)).size} bytes; ufstype=sunx86, ${seconds} s in QEMU): ` +
      `${listing.lsLines} ls entries (d ${counts.d}, f ${counts.f}, s ${counts.s}), ${md5s} md5s, ` +
      `${manifest.entries.size} manifest entries; after the read-write remount and writes ${after.lsLines} entries`,
  );
  if (problems.length > 0) {
    log(`${name}: FAILED, ${problems.length} differences:`);
    for (const p of problems.slice(0, 50)) log(`  ${p}`);
    return false;
  }
  log(
    `${name}: OK, every entry matches boot_archive.manifest (path, type, mode, uid, gid, target, md5) and every link count; ` +
      `fsck (illumos rules) clean before and after Linux wrote to it; our reader agrees with the kernel after the writes; ` +
      `the boot-time reader reproduces ${bootRead.files} md5s under kernel/ and platform/`,
  );
  return true;
}

/** A manifest and an overlay of `count` empty files in one directory. */
async function manyFiles(work: string, count: number): Promise<string[]> {
  const dir = join(work, 'many-files');
  const overlay = join(dir, 'overlay');
  await mkdir(join(overlay, 'many'), { recursive: true });
  const lines = ['d many 0755 root sys'];
  for (let i = 0; i < count; i++) {
    await writeFile(join(overlay, 'many', String(i)), '');
    lines.push(`f many/${i} 0644 root sys`);
  }
  const manifest = join(dir, 'many.manifest');
  await writeFile(manifest, lines.join('\n') + '\n');
  await run('chmod', ['-R', 'a+rX', dir]);
  return ['--manifest', manifest, '--overlay', overlay];
}

async function main(): Promise<number> {
  const tools = await ensureTools();
  const kernel = await ensureKernel();
  const work = await mkdtemp(join(tmpdir(), 'joyent-live-kernel-'));
  await chmod(work, 0o755);
  try {
    const rwModule = await ensureRwModule(kernel);
    const initrd = await buildInitrd(kernel, rwModule, tools.busybox, work);
    log(`kernel ${kernel.vmlinuz.replace(`${REPO_ROOT}/`, '')}, initramfs ${initrd}`);
    let ok = true;

    const fixtures = fixtureArgs('', '').slice(0, -4);
    const fixtureDir = await buildImage('fixtures', fixtures, work);
    ok = (await checkImage('fixtures', fixtureDir, tools, kernel, initrd, work)) && ok;

    const manyDir = await buildImage('30000-files', [...fixtures, ...(await manyFiles(work, 30_000))], work); // prettier-ignore
    const many = await UfsReader.open(join(manyDir, 'boot_archive'));
    const groups = many.usage().inodes;
    await many.close();
    log(`30000-files: ${groups} inodes in the image`);
    ok = (await checkImage('30000-files', manyDir, tools, kernel, initrd, work)) && ok;

    if (!hasSharedData) {
      log(
        `2011-scale: SKIPPED, no real SmartOS data at ${SMARTOS_DATA} (put ../shared beside the checkout or set JOYENT_LIVE_SHARED)`,
      );
    } else {
      const manifest = join(SMARTOS_DATA, 'manifest-2011-09.txt');
      const synth = await synthesizeSources({
        manifest,
        dir: join(work, 'sources'),
        totalBytes: SYNTH_BYTES,
        seed: 2011,
      });
      await run('chmod', ['-R', 'a+rX', join(work, 'sources')]);
      log(`2011-scale: synthesized ${synth.files} files, ${synth.bytes} bytes`);
      const args = [
        'build-live',
        '--manifest', manifest,
        '--overlay', synth.overlay,
        '--proto', synth.proto,
        '--man-dir', synth.manDir,
        '--system-root', synth.systemRoot,
      ]; // prettier-ignore
      const dir = await buildImage('2011-scale', args, work);
      ok = (await checkImage('2011-scale', dir, tools, kernel, initrd, work)) && ok;
      // The same inputs again, elsewhere: the same bytes.
      const again = await buildImage('2011-scale-again', args, work);
      const [a, b] = await Promise.all([
        sha1(join(dir, 'boot_archive')),
        sha1(join(again, 'boot_archive')),
      ]);
      if (a === b) log(`2011-scale: a second build gives the same boot_archive (sha1 ${a})`);
      else {
        log(`2011-scale: FAILED, a second build differs (sha1 ${a} vs ${b})`);
        ok = false;
      }
    }
    return ok ? 0 : 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    log(code === 0 ? 'PASS' : 'FAIL');
    process.exitCode = code;
  },
  (err: unknown) => {
    log(`ERROR: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
