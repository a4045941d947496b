import { invalidUpload } from './upload-errors';

/** One regular file out of a tar archive, with its path as stored (checked by the caller). */
export interface TarEntry {
  path: string;
  data: Uint8Array;
}

const BLOCK = 512;
const decoder = new TextDecoder('utf-8');

/**
 * Reads a ustar (POSIX or GNU) tar archive held in memory: regular files only; directories and pax
 * global headers are skipped, links and devices refused (a link would point outside the upload, and
 * the user can archive the file itself). Long names from pax `path=` records and GNU `L` entries are
 * applied to the entry that follows them, so archives made by GNU tar, bsdtar and macOS tar all read.
 */
export function readTar(archive: Uint8Array, archiveName: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let longName: string | undefined;
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    if (!checksumMatches(header)) {
      throw invalidUpload(`'${archiveName}' is not a valid tar archive (header checksum mismatch at byte ${offset}): create it with 'tar -czf ${archiveName} <files>' or upload a .zip`);
    }
    const size = readOctal(header.subarray(124, 136), archiveName);
    const type = String.fromCharCode(header[156] || 0x30);
    const dataStart = offset + BLOCK;
    if (dataStart + size > archive.length) {
      throw invalidUpload(`'${archiveName}' is truncated (an entry runs past the end of the archive): upload the complete file`);
    }
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    const storedName = headerPath(header);
    switch (type) {
      case '0':
      case '7': // contiguous file: a regular file for our purpose
        entries.push({ path: longName ?? storedName, data });
        longName = undefined;
        break;
      case 'x':
        longName = paxPath(data) ?? longName;
        break;
      case 'L':
        longName = cString(data);
        break;
      case '5': // directory
      case 'g': // pax global header
        longName = undefined;
        break;
      case '1':
      case '2':
        throw invalidUpload(`'${archiveName}' holds a link ('${longName ?? storedName}'): archive the file itself (tar -h follows symbolic links)`);
      default:
        throw invalidUpload(`'${archiveName}' holds '${longName ?? storedName}' of tar type '${type}', which is not a regular file: archive only the source files`);
    }
  }
  return entries;
}

function headerPath(header: Uint8Array): string {
  const name = cString(header.subarray(0, 100));
  const magic = decoder.decode(header.subarray(257, 262));
  // ustar splits long paths into prefix (345..500) + name; GNU tar uses those bytes for other fields
  const prefix = magic === 'ustar' && header[262] === 0 ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function checksumMatches(header: Uint8Array): boolean {
  const stored = parseInt(cString(header.subarray(148, 156)).trim(), 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return stored === sum;
}

function readOctal(field: Uint8Array, archiveName: string): number {
  if (field[0] & 0x80) {
    // base-256 sizes only exist for entries over 8 GiB, far over any upload limit
    throw invalidUpload(`'${archiveName}' holds an entry too large for an upload: upload only the source files`);
  }
  const text = cString(field).trim();
  const value = text === '' ? 0 : parseInt(text, 8);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalidUpload(`'${archiveName}' is not a valid tar archive (bad size field '${text}'): create it with tar or upload a .zip`);
  }
  return value;
}

/** The `path` record of a pax extended header ("<len> path=<value>\n" records; len counts bytes). */
function paxPath(data: Uint8Array): string | undefined {
  let path: string | undefined;
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(decoder.decode(data.subarray(pos, space)), 10);
    if (!Number.isSafeInteger(len) || len <= space - pos) break;
    const record = decoder.decode(data.subarray(space + 1, pos + len - 1)); // without the trailing newline
    if (record.startsWith('path=')) path = record.slice('path='.length);
    pos += len;
  }
  return path;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}
