/** In-memory image classification datasets, as the plaintext trainer and evaluator use them. */

/** One split: `count` images, NHWC, 8-bit pixels (0..255), one label byte each. */
export interface ImageSplit {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface ImageDataset {
  /** mnist, idx, cifar10, synthetic. */
  kind: string;
  /** What produced it: the CLI spec (`mnist`, `idx:DIR`, `cifar10:DIR`). */
  spec: string;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  train: ImageSplit;
  test: ImageSplit;
  /** How train and test were split, in words (recorded in the manifest). */
  split: string;
  /** Files read, for the manifest and error messages. */
  files: string[];
}

export function imageSize(d: Pick<ImageDataset, 'height' | 'width' | 'channels'>): number {
  return d.height * d.width * d.channels;
}

/**
 * `limit` images spread evenly over a split (image floor(k * count / limit)),
 * so a quick run on a class-ordered split still sees every class.
 */
export function limitSplit(s: ImageSplit, size: number, limit: number | undefined): ImageSplit {
  if (limit === undefined || limit >= s.count) return s;
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`split limit must be a positive integer, got ${limit}`);
  const pixels = new Uint8Array(limit * size);
  const labels = new Uint8Array(limit);
  for (let k = 0; k < limit; k++) {
    const i = Math.floor((k * s.count) / limit);
    pixels.set(s.pixels.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = s.labels[i]!;
  }
  return { pixels, labels, count: limit };
}

/** Throws naming `what` unless labels are < numClasses and pixel bytes match. */
export function checkSplit(s: ImageSplit, size: number, numClasses: number, what: string): void {
  if (s.pixels.length !== s.count * size) throw new Error(`${what}: ${s.pixels.length} pixel bytes for ${s.count} images of ${size}`);
  if (s.labels.length !== s.count) throw new Error(`${what}: ${s.labels.length} labels for ${s.count} images`);
  for (let i = 0; i < s.count; i++) {
    if (s.labels[i]! >= numClasses) throw new Error(`${what}: label ${s.labels[i]} at index ${i} is not below ${numClasses}`);
  }
}

/** Training images a `--bound auto` calibration looks at (minimax ReLU, in MPC and PANN runs alike). */
export const CALIBRATION_IMAGES = 256;

/**
 * The calibration images: CALIBRATION_IMAGES spread evenly over the
 * training split (limitSplit), since splits may be ordered by class (the
 * embedded MNIST's first hundreds of training images are all zeros).
 */
export function calibrationSplit(d: Pick<ImageDataset, 'height' | 'width' | 'channels' | 'train'>): ImageSplit {
  return limitSplit(d.train, imageSize(d), CALIBRATION_IMAGES);
}
