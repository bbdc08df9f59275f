// The ClickMe data stack: sources → TFRecord framing → tf.train.Example → JPEG → preprocessing → batches.

export { crc32c, maskCrc } from "./crc32c.ts";
export { ShardError, type SkippedRecord } from "./errors.ts";
export { blobSource, type ByteSource, bytesSource, urlSource, type UrlSourceOptions } from "./source.ts";
export { fileSource, globFiles } from "./source_file.ts";
export { CLICKME_BASE_URL, CLICKME_SHARD_COUNTS, clickmeShardUrls, expandBraces, resolveShards, type ShardInput } from "./shard_list.ts";
export {
  type BadRecord,
  type BadRecordPolicy,
  type Compression,
  DEFAULT_MAX_RECORD_BYTES,
  describeReport,
  newShardReport,
  readTFRecords,
  rejectRecord,
  type ShardReport,
  type TFRecord,
  type TFRecordReadOptions,
} from "./tfrecord_reader.ts";
export { encodeRecord, type ShardWriteOptions, tfrecordBytes, tfrecordStream } from "./tfrecord_writer.ts";
export { writeShardFile } from "./shard_file.ts";
export { decodeExample, encodeExample, type Feature, type FeatureKind, type Features, requireFeature } from "./example.ts";
export { type EncodedSample, encodeSample, parseSample, type RecordLayout } from "./clickme_record.ts";
export { assertJpeg, type DecodedImage, jpegDecoder, type JpegDecoder, type JpegDecoderKind, jpegInfo } from "./jpeg.ts";
export { encodeJpeg } from "./jpeg_encode.ts";
export { encodePixelSample, type PixelSample, type Pixels } from "./sample_writer.ts";
export {
  type Augmentation,
  type CropBox,
  gaussianBlur,
  IMAGENET_MEAN,
  IMAGENET_STD,
  preprocessHeatmap,
  preprocessImage,
  type PreprocessOptions,
  REFERENCE_PREPROCESS,
  resizeBilinear,
} from "./preprocess.ts";
export { gaussianTaps } from "../ops/gaussian.ts";
export { type AugmentOptions, INCEPTION_AUGMENT, sampleAugmentation, sampleCrop } from "./augment.ts";
export { Random } from "./random.ts";
export { verifyShard, type VerifyOptions, type VerifyReport } from "./verify.ts";
export { DecodePool, DecodePoolError, defaultWorkerCount } from "./decode_pool.ts";
export { batch, interleave, mapOrdered, mix, prefetch, shuffle } from "./stream_ops.ts";
export { type DatasetSpec, type HostBatch, Loader, type LoaderOptions } from "./loader.ts";
export { SYNTH_CLASS_NAMES, synthSample, synthShardName, synthShardRecords, synthShards, type SynthOptions, type SynthShardOptions } from "./synthetic.ts";
export { gpuBatches, toTensors } from "./gpu_batches.ts";
