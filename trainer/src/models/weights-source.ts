import { fetchToCache } from '../data/download';

/** Where Keras publishes VGG16's ImageNet weights without the classifier top; `--weights imagenet` means this. */
export const VGG16_IMAGENET_NOTOP_URL =
  'https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5';

/** Turns `--weights` (a path, an http(s) URL, or `imagenet`) into a local file; URLs are downloaded once into the cache. */
export async function resolveWeightsFile(spec: string, opts: { cacheDir?: string } = {}): Promise<string> {
  const source = spec === 'imagenet' ? VGG16_IMAGENET_NOTOP_URL : spec;
  if (!/^https?:\/\//i.test(source)) return source;
  return fetchToCache(source, { cacheDir: opts.cacheDir });
}
