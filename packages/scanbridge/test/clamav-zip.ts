import { crc32 } from 'node:zlib';

/**
 * A zip archive holding one file, stored (not compressed): enough for clamd to unpack,
 * and small enough to nest many times without a zip library.
 */
export function zipOf(name: string, content: Uint8Array): Uint8Array {
  const fileName = Buffer.from(name, 'utf8');
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(content.byteLength, 18);
  local.writeUInt32LE(content.byteLength, 22);
  local.writeUInt16LE(fileName.byteLength, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(content.byteLength, 20);
  central.writeUInt32LE(content.byteLength, 24);
  central.writeUInt16LE(fileName.byteLength, 28);
  const centralOffset = local.byteLength + fileName.byteLength + content.byteLength;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.byteLength + fileName.byteLength, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, fileName, content, central, fileName, end]);
}

/** `content` zipped `depth` times over: `depth` archive levels around the file. */
export function nestedZip(content: Uint8Array, depth: number): Uint8Array {
  let archive = content;
  for (let level = 0; level < depth; level++) archive = zipOf(`level-${level}.bin`, archive);
  return archive;
}
