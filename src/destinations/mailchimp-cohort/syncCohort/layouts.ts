/**
 * V8 keeps the hidden class of a class's instances only while some object has it. When a full garbage collection runs
 * between two batches with no batch in flight, it drops the hidden classes of the objects every batch builds and
 * deoptimizes the code that reads them, so the next batch starts on unoptimized code. One idle instance of each such
 * class, kept here for the life of the process, keeps their hidden classes and the optimized code that relies on them.
 * Object literals need none: V8 keeps their hidden class with the literal.
 */
const kept: object[] = []

export function keepLayout(instance: object): void {
  kept.push(instance)
}
