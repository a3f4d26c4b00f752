// Grad mode: whether ops record onto the tape (per thread), and the RAII
// guards that switch it.
#pragma once

namespace nabla {

// Recording is on by default; each thread has its own switch.
class GradMode {
 public:
  static bool is_enabled() noexcept { return flag(); }
  static void set_enabled(bool enabled) noexcept { flag() = enabled; }

 private:
  static bool& flag() noexcept {
    thread_local bool enabled = true;
    return enabled;
  }
};

// Nothing is recorded while one is alive (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() noexcept : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Turns recording back on inside a NoGradGuard.
class EnableGradGuard {
 public:
  EnableGradGuard() noexcept : previous_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~EnableGradGuard() { GradMode::set_enabled(previous_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace nabla
