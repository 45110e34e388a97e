interface Call {
  params: Record<string, string>
  query: URLSearchParams
  body: unknown
}
export interface Answer {
  status: number
  body?: unknown
}
type Handler = (call: Call) => Answer
export interface Route {
  template: string
  pattern: RegExp
  names: string[]
  methods: Record<string, Handler>
}

/** A path template in Mailchimp's own notation, e.g. `/3.0/lists/{list_id}`, with its handlers by method. */
export function route(template: string, methods: Record<string, Handler>): Route {
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
  const pattern = new RegExp(`^${template.replace(/\./g, '\\.').replace(/\{\w+\}/g, '([^/]+)')}$`)
  return { template, pattern, names, methods }
}

export function match(routes: Route[], pathname: string): { route: Route; params: Record<string, string> } | undefined {
  for (const candidate of routes) {
    const found = candidate.pattern.exec(pathname)
    if (!found) continue
    const params = Object.fromEntries(candidate.names.map((name, i) => [name, decode(found[i + 1])]))
    return { route: candidate, params }
  }
  return undefined
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Mailchimp's `fields` / `exclude_fields` query parameters: comma-separated, dotted paths into sub-objects and arrays. */
export function selectFields(body: unknown, query: URLSearchParams): unknown {
  const paths = (list: string) =>
    list
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean)
      .map((f) => f.split('.'))
  const fields = query.get('fields')
  const exclude = query.get('exclude_fields')
  let selected = body
  if (fields) selected = select(selected, paths(fields), true)
  if (exclude) selected = select(selected, paths(exclude), false)
  return selected
}

function select(value: unknown, paths: string[][], keep: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => select(item, paths, keep))
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    const here = paths.filter((p) => p[0] === key)
    const whole = here.some((p) => p.length === 1)
    const deeper = here.filter((p) => p.length > 1).map((p) => p.slice(1))
    if (keep && whole) out[key] = inner
    else if (keep && deeper.length > 0) out[key] = select(inner, deeper, true)
    else if (!keep && !whole) out[key] = deeper.length > 0 ? select(inner, deeper, false) : inner
  }
  return out
}
