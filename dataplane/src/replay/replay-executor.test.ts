import { reportFor } from './replay-executor.ts';

describe('reportFor', () => {
  it('reports a chunk in progress, or waiting on the processor, as running', () => {
    expect(reportFor({ kind: 'progressed', replayed: 5, total: 9, done: false })).toEqual({
      status: 'running',
      replayed: 5,
      total: 9,
    });
    expect(reportFor({ kind: 'waiting', replayed: 5, total: 9 })).toEqual({
      status: 'running',
      replayed: 5,
      total: 9,
    });
  });

  it('reports a finished replay as completed', () => {
    expect(reportFor({ kind: 'progressed', replayed: 9, total: 9, done: true })).toEqual({
      status: 'completed',
      replayed: 9,
      total: 9,
    });
  });

  it('fails a finished replay that lost events to archive retention, saying how many', () => {
    expect(reportFor({ kind: 'progressed', replayed: 6, total: 9, done: true })).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^3 of the 9 events in range expired from the archive/),
    });
  });

  it('says nothing while another worker holds the replay', () => {
    expect(reportFor({ kind: 'busy' })).toBeUndefined();
  });
});
