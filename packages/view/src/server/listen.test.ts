import { isLoopbackHost } from './listen'

describe('isLoopbackHost', () => {
  it('treats unset, localhost and loopback addresses as "this machine only" (no warning), anything else not', () => {
    expect([undefined, 'localhost', '127.0.0.1', '127.1.2.3', '::1'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ])
    expect(
      ['0.0.0.0', '::', '192.168.1.5', 'example.com', '127.0.0.1.evil.example'].map(isLoopbackHost),
    ).toEqual([false, false, false, false, false])
  })
})
