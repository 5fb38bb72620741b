#include "actr/framework/recycled.hpp"

#include <vector>

namespace actr::detail::message_pool {
namespace {

// Set once the reaper ran: the thread is ending, shelves armed from now on stay closed.
thread_local constinit bool torn_down = false;

/// At thread exit, frees what every shelf this thread armed still holds, and closes them.
struct Reaper {
  std::vector<Shelf*> shelves;
  ~Reaper() {
    torn_down = true;
    for (Shelf* shelf : shelves) {
      shelf->closed = true;
      while (shelf->count > 0) delete shelf->kept[--shelf->count];
    }
  }
};
thread_local Reaper reaper;

}  // namespace

void arm(Shelf& shelf) {
  shelf.armed = true;
  if (torn_down) {
    shelf.closed = true;
    return;
  }
  reaper.shelves.push_back(&shelf);
}

}  // namespace actr::detail::message_pool
