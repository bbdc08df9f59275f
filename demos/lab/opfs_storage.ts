/**
 * Files of a run in the Origin Private File System (the browser's counterpart of a run folder on
 * disk). Paths are relative, "/"-separated. Writes go to a temporary file that is then moved over the
 * target, so a tab closed mid-write leaves the previous file whole. Used from the training worker,
 * where synchronous access handles are available in every browser that has OPFS.
 */

type SyncHandle = {
  write(buffer: BufferSource, options?: { at?: number }): number;
  read(buffer: BufferSource, options?: { at?: number }): number;
  getSize(): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
};
type MovableFileHandle = FileSystemFileHandle & {
  createSyncAccessHandle(): Promise<SyncHandle>;
  move?(parent: FileSystemDirectoryHandle, name: string): Promise<void>;
};
import type { RunStorage } from "../../src/run/mod.ts";

type IterableDirectory = FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };

export class OpfsStorage implements RunStorage {
  private constructor(private readonly root: FileSystemDirectoryHandle, readonly name: string) {}

  /** The folder at `path` ("a/b") under the origin's private root, created if needed. */
  static async open(path: string): Promise<OpfsStorage> {
    const storage = (globalThis.navigator as Navigator | undefined)?.storage;
    if (!storage?.getDirectory) throw new Error("this browser has no Origin Private File System (navigator.storage.getDirectory)");
    let dir = await storage.getDirectory();
    for (const part of path.split("/").filter(Boolean)) dir = await dir.getDirectoryHandle(part, { create: true });
    return new OpfsStorage(dir, path);
  }

  describe(path: string): string {
    return `OPFS ${this.name}/${path}`;
  }

  async append(path: string, bytes: Uint8Array): Promise<void> {
    const { parts, leaf } = this.#split(path);
    const dir = (await this.#folder(parts, true))!;
    try {
      const access = await (await dir.getFileHandle(leaf, { create: true }) as MovableFileHandle).createSyncAccessHandle();
      try {
        access.write(bytes as Uint8Array<ArrayBuffer>, { at: access.getSize() });
        access.flush();
      } finally {
        access.close();
      }
    } catch (e) {
      throw new Error(`${this.describe(path)}: cannot append (${(e as Error).message})`);
    }
  }

  async #folder(parts: string[], create: boolean): Promise<FileSystemDirectoryHandle | null> {
    let dir = this.root;
    for (const part of parts) {
      try {
        dir = await dir.getDirectoryHandle(part, { create });
      } catch (e) {
        if ((e as DOMException).name === "NotFoundError") return null;
        throw e;
      }
    }
    return dir;
  }

  #split(path: string): { parts: string[]; leaf: string } {
    const parts = path.split("/").filter(Boolean);
    const leaf = parts.pop();
    if (!leaf || parts.some((p) => p === ".." || p === ".")) throw new Error(`${this.describe(path)}: not a relative path`);
    return { parts, leaf };
  }

  /** The file's bytes, or null when it does not exist. */
  async read(path: string): Promise<Uint8Array | null> {
    const { parts, leaf } = this.#split(path);
    const dir = await this.#folder(parts, false);
    if (!dir) return null;
    try {
      const file = await (await dir.getFileHandle(leaf)).getFile();
      return new Uint8Array(await file.arrayBuffer());
    } catch (e) {
      if ((e as DOMException).name === "NotFoundError") return null;
      throw new Error(`${this.describe(path)}: ${(e as Error).message}`);
    }
  }

  async write(path: string, bytes: Uint8Array): Promise<void> {
    const { parts, leaf } = this.#split(path);
    const dir = (await this.#folder(parts, true))!;
    const temporary = `${leaf}.tmp`;
    try {
      const handle = await dir.getFileHandle(temporary, { create: true }) as MovableFileHandle;
      await replaceContents(handle, bytes);
      if (handle.move) {
        await handle.move(dir, leaf);
        return;
      }
      // No move(): write the target in place once the temporary copy is complete (not atomic there).
      await replaceContents(await dir.getFileHandle(leaf, { create: true }) as MovableFileHandle, bytes);
      await dir.removeEntry(temporary);
    } catch (e) {
      throw new Error(`${this.describe(path)}: cannot write (${(e as Error).message})`);
    }
  }

  /** Names in a folder (files and folders), empty when it does not exist. */
  async list(path = ""): Promise<string[]> {
    const dir = await this.#folder(path.split("/").filter(Boolean), false) as IterableDirectory | null;
    if (!dir) return [];
    const names: string[] = [];
    for await (const name of dir.keys()) names.push(name);
    return names.sort();
  }

  /** Removes a file or a folder with everything in it; nothing happens when it does not exist. */
  async remove(path: string): Promise<void> {
    const { parts, leaf } = this.#split(path);
    const dir = await this.#folder(parts, false);
    try {
      await dir?.removeEntry(leaf, { recursive: true });
    } catch (e) {
      if ((e as DOMException).name !== "NotFoundError") throw new Error(`${this.describe(path)}: cannot remove (${(e as Error).message})`);
    }
  }
}

async function replaceContents(handle: MovableFileHandle, bytes: Uint8Array): Promise<void> {
  const access = await handle.createSyncAccessHandle();
  try {
    access.truncate(0);
    access.write(bytes as Uint8Array<ArrayBuffer>, { at: 0 });
    access.flush();
  } finally {
    access.close();
  }
}
