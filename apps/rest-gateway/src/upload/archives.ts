import { Gunzip, unzipSync } from 'fflate';
import { RestError } from '../errors';
import { readTar } from './tar';
import { invalidUpload, uploadTooLarge } from './upload-errors';

/** A file part of the upload, as it arrived (name already checked: no slashes). */
export interface UploadedFile {
  name: string;
  data: Uint8Array;
}

export interface UnpackLimits {
  /** Files kept in all, counting each archive's entries instead of the archive. */
  maxFiles: number;
  /** Bytes all archives may unpack to, in all (a small zip can inflate to gigabytes). */
  maxUnpackedBytes: number;
}

const UNSUPPORTED_ARCHIVES = ['.tar.bz2', '.tbz2', '.tar.xz', '.txz', '.tar.zst', '.rar', '.7z'];

/**
 * The upload as one set of files keyed by relative path, the way ethconnect sees it after writing the
 * parts into a temporary directory and unpacking `.zip` / `.tar.gz` archives in place: a part is kept
 * at the root under its file name, an archive's entries keep their paths inside the archive (and the
 * archive itself is not kept). Unlike ethconnect, which lets a later file overwrite an earlier one,
 * two files landing on the same path are refused: which one would win is not obvious to the user.
 */
export function unpackUploads(files: UploadedFile[], limits: UnpackLimits): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const budget = { bytes: limits.maxUnpackedBytes };
  const add = (path: string, data: Uint8Array, from?: string): void => {
    if (out.has(path)) {
      throw invalidUpload(`Two uploaded files are both '${path}'${from ? ` (one from '${from}')` : ''}: rename one or upload it once`);
    }
    if (out.size >= limits.maxFiles) {
      throw uploadTooLarge(`The upload holds more than ${limits.maxFiles} files (archive entries included): upload only the sources the contract needs`);
    }
    out.set(path, data);
  };
  for (const file of files) {
    const lower = file.name.toLowerCase();
    const unsupported = UNSUPPORTED_ARCHIVES.find((ext) => lower.endsWith(ext));
    if (unsupported) throw invalidUpload(`'${file.name}': ${unsupported} archives are not supported: upload a .zip or a .tar.gz`);
    let entries: { path: string; data: Uint8Array }[] | undefined;
    if (lower.endsWith('.zip')) entries = unzip(file, budget);
    else if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) entries = readTar(gunzip(file, budget), file.name);
    else if (lower.endsWith('.tar')) entries = readTar(file.data, file.name);
    if (!entries) {
      add(file.name, file.data);
      continue;
    }
    for (const entry of entries) {
      const path = entryPath(entry.path, file.name);
      if (path !== undefined) add(path, entry.data, file.name);
    }
  }
  return out;
}

/**
 * The relative path an archive entry is kept under, or undefined for entries to leave out (macOS
 * Finder/tar metadata: `__MACOSX/…` and `._Name.sol` AppleDouble files, which would otherwise look like
 * Solidity sources). Absolute paths and `..` are refused: nothing may land outside the upload.
 */
function entryPath(raw: string, archiveName: string): string | undefined {
  const unified = raw.replace(/\\/g, '/');
  if (unified.startsWith('/') || /^[A-Za-z]:/.test(unified)) {
    throw invalidUpload(`'${archiveName}' holds an absolute path ('${raw}'): archive the files with paths relative to your project folder`);
  }
  const segments = unified.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw invalidUpload(`'${archiveName}' holds a path leaving the archive ('${raw}'): archive the files with paths relative to your project folder, without '..'`);
  }
  if (segments.length === 0 || segments[0] === '__MACOSX' || segments[segments.length - 1].startsWith('._')) return undefined;
  return segments.join('/');
}

function charge(budget: { bytes: number }, bytes: number, archiveName: string): void {
  budget.bytes -= bytes;
  if (budget.bytes < 0) {
    throw uploadTooLarge(`'${archiveName}' unpacks to more than the upload allows: upload only the sources the contract needs`);
  }
}

function unzip(file: UploadedFile, budget: { bytes: number }): { path: string; data: Uint8Array }[] {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(file.data, {
      // sizes are checked from the central directory before anything is inflated
      filter: (entry) => {
        if (entry.name.endsWith('/')) return false;
        charge(budget, entry.originalSize, file.name);
        return true;
      },
    });
  } catch (error) {
    if (error instanceof RestError) throw error;
    throw invalidUpload(`'${file.name}' is not a valid zip archive (${(error as Error).message}): upload a zip made by a zip tool, or a .tar.gz`, error);
  }
  return Object.entries(files).map(([path, data]) => ({ path, data }));
}

/** Inflates in slices so an archive is stopped as soon as it passes the budget, not after. */
function gunzip(file: UploadedFile, budget: { bytes: number }): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new Gunzip((chunk) => {
    chunks.push(chunk);
    total += chunk.length;
  });
  const SLICE = 64 * 1024;
  try {
    if (file.data.length === 0) throw new Error('empty file');
    for (let at = 0; at < file.data.length; at += SLICE) {
      inflater.push(file.data.subarray(at, at + SLICE), at + SLICE >= file.data.length);
      if (total > budget.bytes) break;
    }
  } catch (error) {
    throw invalidUpload(`'${file.name}' is not a valid gzip file (${(error as Error).message}): create it with 'tar -czf ${file.name} <files>'`, error);
  }
  charge(budget, total, file.name);
  return concat(chunks, total);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
