// EXPECT_MESSAGE(E, stmt, text): stmt throws E whose what() is exactly text -- the tests
// that pin the messages Python users see (they come from the same C++ checks).
#pragma once
#include <gtest/gtest.h>

#include <exception>
#include <string>

// The message of the E that f throws; fails the test when it throws nothing or another type.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}
#define EXPECT_MESSAGE(E, stmt, text) EXPECT_EQ(message_of<E>([&] { stmt; }), text)
