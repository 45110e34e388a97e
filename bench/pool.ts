/** Runs `work` over every item with at most `workers` at once, each worker taking the next item when it is free. */
export async function eachConcurrently<T>(
  items: T[],
  workers: number,
  work: (item: T, index: number) => Promise<void>
) {
  let next = 0
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i], i)
  }
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, worker))
}
