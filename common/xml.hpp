// Escaping text for XML and HTML (the reports' SVG and HTML, the server's KML export). Pure
// function, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace cw {

// Text safe inside XML/HTML element content and double- or single-quoted attribute values:
// & < > " ' as entities, invalid UTF-8 as U+FFFD, and the characters XML 1.0 forbids (C0
// controls other than tab/LF/CR, U+FFFE, U+FFFF) dropped.
std::string xml_escape(std::string_view s);

}  // namespace cw
