import nock from 'nock'
import { memoryCache } from '../src/destinations/mailchimp-cohort/mailchimp/cache'
import { forgetAccountShares } from '../src/destinations/mailchimp-cohort/mailchimp/limits'

// Nothing in a test reaches the internet; loopback stays open for the project's own sandbox.
nock.disableNetConnect()
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/)

// Every answer a test recorded must have been asked for: a request the code should have made but did not fails the
// test. Tests that prove a request was *not* made say so with `expectNotRequested` from ./helpers.
afterEach(() => {
  const unused = nock.pendingMocks()
  nock.cleanAll()
  memoryCache.clear()
  forgetAccountShares()
  if (unused.length > 0) throw new Error(`Recorded answers never requested: ${unused.join(', ')}`)
})

// Each test file loads its own nock; hand the network hooks back so the next file's nock can install them.
afterAll(() => {
  nock.restore()
})
