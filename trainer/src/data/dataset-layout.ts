import { UserError } from '../user-error';
import { LABEL_ERRORS_FILE } from './label-errors';
import { CLASS_NAMES } from './types';

export interface DatasetImage {
  /** Path relative to the data set folder, e.g. `Parasitized/C33P1thinF_IMG_20150619_114756a_cell_179.png`. */
  readonly file: string;
  /** Path inside the zip or folder that was listed, for reading. */
  readonly location: string;
  readonly label: number;
}

export interface DatasetLayout {
  /** The folder holding the class folders, relative to what was listed ('' for its top). */
  readonly root: string;
  /** The PNG images of both classes, sorted by file. */
  readonly images: readonly DatasetImage[];
  /** Other files inside the class folders (Thumbs.db, hidden files, other formats), skipped. */
  readonly notPng: number;
  /** Where the data set's LABEL_ERRORS_FILE is, when it has one. */
  readonly labelErrors?: string;
}

/**
 * Finds the data set in a listing of a zip or folder: the shallowest folder that holds `Parasitized/`
 * and `Uninfected/` (in any letter case), at any depth. Files outside it are ignored, so wrappers such
 * as `cell_images/` or a `__MACOSX/` copy (always deeper) do not matter.
 *
 * @param files `/`-separated file paths.
 * @param dirs  folders listed explicitly, so that an empty class folder is seen.
 * @param where the listed zip or folder, for messages.
 */
export function locateDataset(files: readonly string[], dirs: readonly string[], where: string): DatasetLayout {
  const allDirs = new Set(dirs);
  for (const file of files) for (let d = parentOf(file); d !== ''; d = parentOf(d)) allDirs.add(d);
  const root = findRoot(allDirs, where);
  const classDirs = CLASS_NAMES.map((name) => {
    const dir = [...allDirs].find((d) => parentOf(d) === root && baseOf(d).toLowerCase() === name.toLowerCase());
    if (dir === undefined) {
      const present = CLASS_NAMES.find((other) => other !== name);
      throw new UserError(`${where}: ${describeDir(root)} has ${present}/ but no ${name}/ beside it; both class folders are needed`);
    }
    return `${dir}/`;
  });

  const images: DatasetImage[] = [];
  let notPng = 0;
  for (const location of files) {
    const label = classDirs.findIndex((dir) => location.startsWith(dir));
    if (label < 0) continue;
    const name = baseOf(location);
    if (/\.png$/i.test(name) && !name.startsWith('.')) {
      images.push({ file: root ? location.slice(root.length + 1) : location, location, label });
    } else {
      notPng++;
    }
  }
  for (const [label, dir] of classDirs.entries()) {
    if (!images.some((image) => image.label === label)) {
      throw new UserError(`${where}: ${dir} holds no PNG images; each of ${CLASS_NAMES.join('/ and ')}/ needs at least one`);
    }
  }
  images.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const labelErrors = root ? `${root}/${LABEL_ERRORS_FILE}` : LABEL_ERRORS_FILE;
  return { root, images, notPng, ...(files.includes(labelErrors) ? { labelErrors } : {}) };
}

function findRoot(dirs: ReadonlySet<string>, where: string): string {
  const classNames = new Set(CLASS_NAMES.map((name) => name.toLowerCase()));
  const roots = new Set<string>();
  for (const dir of dirs) if (classNames.has(baseOf(dir).toLowerCase())) roots.add(parentOf(dir));
  if (roots.size === 0) {
    throw new UserError(
      `${where} holds no ${CLASS_NAMES[1]}/ or ${CLASS_NAMES[0]}/ folder. --data needs the NIH cell_images.zip, ` +
        `or a zip or folder with ${CLASS_NAMES[1]}/ and ${CLASS_NAMES[0]}/ (at any depth) holding the PNG cell images.`,
    );
  }
  const depth = (dir: string) => (dir === '' ? 0 : dir.split('/').length);
  const shallowest = Math.min(...[...roots].map(depth));
  const candidates = [...roots].filter((root) => depth(root) === shallowest).sort();
  if (candidates.length > 1) {
    throw new UserError(`${where} holds several data sets (${candidates.map(describeDir).join(', ')}); point --data at one of them`);
  }
  return candidates[0];
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function describeDir(dir: string): string {
  return dir === '' ? 'the top folder' : `${dir}/`;
}
