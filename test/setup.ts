import nock from 'nock'
import { memoryCache } from '../src/destinations/mailchimp-cohort/mailchimp/cache'

// Nothing in a test reaches the internet; loopback stays open for the project's own sandbox.
nock.disableNetConnect()
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/)

afterEach(() => {
  nock.cleanAll()
  memoryCache.clear()
})

// Each test file loads its own nock; hand the network hooks back so the next file's nock can install them.
afterAll(() => {
  nock.restore()
})
