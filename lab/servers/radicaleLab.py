"""Starts Debian's Radicale (the script given as argv[1]) with two lab-only
changes, applied before it loads its storage (see lab/servers/radicale.ts):

- no fsync: lab data is disposable, and on the shared, loaded disk the
  fsyncs of every PUT (item, cache, history, directories) cost about as much
  as the rest of the request;
- a UID index: before a new item is stored, stock Radicale 3.1 checks its UID
  against every item of the collection (has_uid reads and unpickles each
  one), so one PUT into a calendar of 10,000 events reads 10,000 files and a
  copy of it is quadratic. The index answers the same question from a set
  kept per collection; it is rebuilt by a full scan whenever the collection's
  directory changed other than by an upload of this process (a seed writing
  files, a delete), so it never answers from a stale listing;
- no cleanup scan after an upload: stock Radicale then lists the item cache
  and the history folders and stats every entry (about 60 ms per PUT at
  10,000 items on this machine), looking for entries of deleted items, which
  an upload never makes. Deletes still clean up as before.

Usage: python3 radicaleLab.py /usr/bin/radicale --config <file>
"""
import os
import runpy
import sys
import threading

import radicale.pathutils as pathutils
from radicale.storage.multifilesystem import Collection

pathutils.fsync = lambda fd: None

# collection directory -> (signature of the directory when the set was right, UIDs)
_uids = {}


def _signature(path):
    return (os.stat(path).st_mtime_ns, len(os.listdir(path)))


def _has_uid(self, uid):
    path = self._filesystem_path
    signature = _signature(path)
    known = _uids.get(path)
    if known is None or known[0] != signature:
        known = (signature, {item.uid for item in self.get_all()})
        _uids[path] = known
    return uid in known[1]


_stock_upload = Collection.upload
_stock_clean_item_cache = Collection._clean_item_cache
_stock_clean_history = Collection._clean_history
# reads run in other threads while one upload holds the write lock
_in_upload = threading.local()


def _clean_item_cache(self):
    if not getattr(_in_upload, "active", False):
        _stock_clean_item_cache(self)


def _clean_history(self):
    if not getattr(_in_upload, "active", False):
        _stock_clean_history(self)


def _upload(self, href, item):
    path = self._filesystem_path
    before = _uids.get(path)
    current = before is not None and before[0] == _signature(path)
    _in_upload.active = True
    try:
        uploaded = _stock_upload(self, href, item)
    finally:
        _in_upload.active = False
    if current:
        # uploads run under Radicale's storage-wide write lock, so nothing
        # else changed the directory between the two signatures
        before[1].add(item.uid)
        _uids[path] = (_signature(path), before[1])
    else:
        _uids.pop(path, None)
    return uploaded


Collection.has_uid = _has_uid
Collection.upload = _upload
Collection._clean_item_cache = _clean_item_cache
Collection._clean_history = _clean_history

script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
