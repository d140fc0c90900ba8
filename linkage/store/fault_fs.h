#ifndef COHORTLINK_LINKAGE_STORE_FAULT_FS_H_
#define COHORTLINK_LINKAGE_STORE_FAULT_FS_H_

// A RocksDB FileSystem for tests that fails writes and reads on demand, in
// the manner of RocksDB's own utilities/fault_injection_fs.h (which Debian
// does not install): after a set number of write operations (creating,
// appending to or syncing a writable file), every further one fails with
// the chosen error until Heal(); with FailReads(), every read of a table
// file fails as a bad disk sector would. Thread-safe.

#include <atomic>
#include <memory>
#include <string>

#include "rocksdb/file_system.h"

namespace cohortlink::store {

class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  FaultFs() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "CohortlinkFaultFs"; }

  // After `n` more write operations succeed, fail the rest: with ENOSPC
  // when `disk_full`, else a plain I/O error.
  void FailAfter(int64_t n, bool disk_full = false) {
    disk_full_ = disk_full;
    budget_ = n;
    armed_ = true;
  }
  void FailReads(bool on) { fail_reads_ = on; }
  void Heal() {
    armed_ = false;
    fail_reads_ = false;
  }
  // Write operations seen so far (to size a sweep over every step).
  int64_t writes() const { return writes_; }

  // Counts one write operation; the error to return, if it must fail.
  rocksdb::IOStatus Step() {
    ++writes_;
    if (!armed_ || budget_-- > 0) return rocksdb::IOStatus::OK();
    return disk_full_ ? rocksdb::IOStatus::NoSpace("injected: disk full")
                      : rocksdb::IOStatus::IOError("injected write fault");
  }

  // A full disk reports no free space, as a real one would: RocksDB's own
  // recovery polls this and must not retry onto a disk that is still full.
  rocksdb::IOStatus GetFreeSpace(const std::string& path,
                                 const rocksdb::IOOptions& o, uint64_t* free,
                                 rocksdb::IODebugContext* dbg) override {
    if (armed_ && disk_full_ && budget_ <= 0) {
      *free = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, o, free, dbg);
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f,
                                    const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (auto s = Step(); !s.ok()) return s;
    std::unique_ptr<rocksdb::FSWritableFile> file;
    auto s = target()->NewWritableFile(f, o, &file, dbg);
    if (s.ok()) r->reset(new File(std::move(file), this));
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& f, const rocksdb::FileOptions& o,
      std::unique_ptr<rocksdb::FSWritableFile>* r,
      rocksdb::IODebugContext* dbg) override {
    if (auto s = Step(); !s.ok()) return s;
    std::unique_ptr<rocksdb::FSWritableFile> file;
    auto s = target()->ReopenWritableFile(f, o, &file, dbg);
    if (s.ok()) r->reset(new File(std::move(file), this));
    return s;
  }

  rocksdb::IOStatus NewRandomAccessFile(
      const std::string& f, const rocksdb::FileOptions& o,
      std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
      rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSRandomAccessFile> file;
    auto s = target()->NewRandomAccessFile(f, o, &file, dbg);
    if (s.ok()) r->reset(new Readable(std::move(file), this));
    return s;
  }

 private:
  class Readable : public rocksdb::FSRandomAccessFileOwnerWrapper {
   public:
    Readable(std::unique_ptr<rocksdb::FSRandomAccessFile> f, FaultFs* fs)
        : rocksdb::FSRandomAccessFileOwnerWrapper(std::move(f)), fs_(fs) {}
    rocksdb::IOStatus Read(uint64_t offset, size_t n,
                           const rocksdb::IOOptions& o, rocksdb::Slice* result,
                           char* scratch,
                           rocksdb::IODebugContext* dbg) const override {
      if (fs_->fail_reads_)
        return rocksdb::IOStatus::IOError("injected read fault");
      return target()->Read(offset, n, o, result, scratch, dbg);
    }
    rocksdb::IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t n,
                                const rocksdb::IOOptions& o,
                                rocksdb::IODebugContext* dbg) override {
      if (fs_->fail_reads_)
        return rocksdb::IOStatus::IOError("injected read fault");
      return target()->MultiRead(reqs, n, o, dbg);
    }

   private:
    FaultFs* fs_;
  };

  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> f, FaultFs* fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(f)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d,
                             const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Step(); !s.ok()) return s;
      return target()->Append(d, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d,
                             const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Step(); !s.ok()) return s;
      return target()->Append(d, o, v, dbg);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t off,
                                       const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Step(); !s.ok()) return s;
      return target()->PositionedAppend(d, off, o, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Step(); !s.ok()) return s;
      return target()->Sync(o, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o,
                            rocksdb::IODebugContext* dbg) override {
      if (auto s = fs_->Step(); !s.ok()) return s;
      return target()->Fsync(o, dbg);
    }

   private:
    FaultFs* fs_;
  };

  std::atomic<bool> armed_{false}, disk_full_{false}, fail_reads_{false};
  std::atomic<int64_t> budget_{0}, writes_{0};
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_FAULT_FS_H_
