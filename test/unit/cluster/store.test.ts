import assert from 'node:assert/strict';
import { IndexedStore } from '../../../src/cluster/store.js';

interface Item {
  name: string;
  team: string;
  tags: string[];
}

function teamStore(): IndexedStore<Item> {
  return new IndexedStore<Item>('items', { team: (item) => [item.team], tag: (item) => item.tags });
}

const names = (items: Item[]): string[] => items.map((item) => item.name).sort();

describe('cluster/store', () => {
  it('finds an upserted item by key and by each index', () => {
    const store = teamStore();
    store.upsert('a', { name: 'a', team: 'red', tags: ['x', 'y'] });
    assert.equal(store.get('a')?.team, 'red');
    assert.deepEqual(names(store.byIndex('team', 'red')), ['a']);
    assert.deepEqual(names(store.byIndex('tag', 'x')), ['a']);
    assert.deepEqual(names(store.byIndex('tag', 'y')), ['a']);
    assert.equal(store.size, 1);
  });

  it('groups several items under one index value', () => {
    const store = teamStore();
    store.upsert('a', { name: 'a', team: 'red', tags: [] });
    store.upsert('b', { name: 'b', team: 'red', tags: [] });
    store.upsert('c', { name: 'c', team: 'blue', tags: [] });
    assert.deepEqual(names(store.byIndex('team', 'red')), ['a', 'b']);
    assert.deepEqual(names(store.byIndex('team', 'blue')), ['c']);
  });

  it('reindexes on update: the old index values no longer find the item', () => {
    const store = teamStore();
    store.upsert('a', { name: 'a', team: 'red', tags: ['x'] });
    store.upsert('a', { name: 'a', team: 'blue', tags: ['z'] });
    assert.deepEqual(store.byIndex('team', 'red'), []);
    assert.deepEqual(store.byIndex('tag', 'x'), []);
    assert.deepEqual(names(store.byIndex('team', 'blue')), ['a']);
    assert.deepEqual(names(store.byIndex('tag', 'z')), ['a']);
    assert.equal(store.size, 1);
  });

  it('keeps other items in a bucket when one of them moves out', () => {
    const store = teamStore();
    store.upsert('a', { name: 'a', team: 'red', tags: [] });
    store.upsert('b', { name: 'b', team: 'red', tags: [] });
    store.upsert('a', { name: 'a', team: 'blue', tags: [] });
    assert.deepEqual(names(store.byIndex('team', 'red')), ['b']);
  });

  it('follows a bucket growing from one key to several and shrinking back to one, then none', () => {
    const store = teamStore();
    for (const name of ['a', 'b', 'c']) store.upsert(name, { name, team: 'red', tags: [] });
    assert.deepEqual(names(store.byIndex('team', 'red')), ['a', 'b', 'c']);
    store.remove('a');
    store.remove('c');
    assert.deepEqual(names(store.byIndex('team', 'red')), ['b']);
    store.upsert('b', { name: 'b', team: 'red', tags: [] });
    assert.deepEqual(names(store.byIndex('team', 'red')), ['b'], 'upserting the lone key again does not duplicate it');
    store.upsert('d', { name: 'd', team: 'red', tags: [] });
    store.remove('b');
    assert.deepEqual(names(store.byIndex('team', 'red')), ['d']);
    store.remove('d');
    assert.deepEqual(store.byIndex('team', 'red'), []);
  });

  it('removes an item from the store and from every index', () => {
    const store = teamStore();
    store.upsert('a', { name: 'a', team: 'red', tags: ['x'] });
    store.upsert('b', { name: 'b', team: 'red', tags: ['x'] });
    store.remove('a');
    assert.equal(store.get('a'), undefined);
    assert.deepEqual(names(store.byIndex('team', 'red')), ['b']);
    assert.deepEqual(names(store.byIndex('tag', 'x')), ['b']);
    assert.equal(store.size, 1);
  });

  it('ignores the removal of an unknown key', () => {
    const store = teamStore();
    store.upsert('a', { name: 'a', team: 'red', tags: [] });
    store.remove('zzz');
    assert.equal(store.size, 1);
    assert.deepEqual(names(store.byIndex('team', 'red')), ['a']);
  });

  it('answers an empty list for an unknown index or value', () => {
    const store = teamStore();
    store.upsert('a', { name: 'a', team: 'red', tags: [] });
    assert.deepEqual(store.byIndex('team', 'green'), []);
    assert.deepEqual(store.byIndex('no-such-index', 'red'), []);
  });

  it('replaceAll drops what the relist no longer has, from the items and the indices', () => {
    const store = teamStore();
    store.upsert('a', { name: 'a', team: 'red', tags: ['x'] });
    store.upsert('b', { name: 'b', team: 'red', tags: [] });
    store.replaceAll([
      ['b', { name: 'b', team: 'blue', tags: [] }],
      ['c', { name: 'c', team: 'red', tags: ['x'] }],
    ]);
    assert.equal(store.get('a'), undefined);
    assert.equal(store.size, 2);
    assert.deepEqual(names(store.byIndex('team', 'red')), ['c']);
    assert.deepEqual(names(store.byIndex('team', 'blue')), ['b']);
    assert.deepEqual(names(store.byIndex('tag', 'x')), ['c']);
  });

  it('works without indices', () => {
    const store = new IndexedStore<number>('plain');
    store.upsert('one', 1);
    store.upsert('one', 2);
    assert.equal(store.get('one'), 2);
    assert.deepEqual(store.byIndex('anything', '2'), []);
  });

  it('reports its name, size and whether it has synced', () => {
    const store = teamStore();
    assert.deepEqual(store.stats(), { name: 'items', size: 0, synced: false });
    store.upsert('a', { name: 'a', team: 'red', tags: [] });
    store.markSynced();
    assert.equal(store.synced, true);
    assert.deepEqual(store.stats(), { name: 'items', size: 1, synced: true });
  });
});
