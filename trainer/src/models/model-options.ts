/** What every model builder takes. */
export interface ModelOptions {
  /** Side of the square RGB input, in pixels. */
  readonly inputSize: number;
  /** Seeds the weight initialisers: the same seed gives the same initial weights. */
  readonly seed: number;
}
