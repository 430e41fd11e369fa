// convoywatch: the subcommands. Each one loads the configuration, then calls into the modules;
// no logic of its own lives here.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <fcntl.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "client/submit.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "pipeline/analyze.hpp"
#include "pipeline/imagery_tasks.hpp"
#include "pipeline/sandbox.hpp"
#include "pipeline/seccomp.hpp"
#include "pipeline/worker.hpp"
#include "reports/build.hpp"
#include "reports/delivery.hpp"
#include "reports/demo.hpp"
#include "reports/scheduler.hpp"
#include "server/routes.hpp"
#include "server/server.hpp"
#include "store/audit.hpp"
#include "store/database.hpp"
#include "store/geodata.hpp"
#include "store/jobs.hpp"
#include "store/media_check.hpp"
#include "store/media_store.hpp"
#include "store/migrations.hpp"
#include "store/roles.hpp"
#include "store/users.hpp"

namespace {

struct GlobalOptions {
  std::string config_file;
  std::vector<std::string> sets;
  std::string log_level;
};

int fail(const std::string& message, int code = 1) {
  std::cerr << "convoywatch: " << message << "\n";
  return code;
}

// Loads the configuration with precedence defaults < file < environment < flags.
cw::Result<cw::Config> load(const GlobalOptions& g, std::map<std::string, std::string> flags = {}) {
  cw::ConfigSources src;
  src.env = cw::environment_map();
  src.file = g.config_file;
  if (src.file.empty()) {
    auto it = src.env.find("CONVOYWATCH_CONFIG");
    if (it != src.env.end()) {
      src.file = it->second;
    } else if (std::filesystem::exists("config/convoywatch.toml")) {
      src.file = "config/convoywatch.toml";
    }
  }
  for (const std::string& s : g.sets) {
    size_t eq = s.find('=');
    if (eq == std::string::npos) {
      return cw::Error(cw::Code::kInvalidArgument, "--set expects section.key=value, got " + s);
    }
    flags[s.substr(0, eq)] = s.substr(eq + 1);
  }
  if (!g.log_level.empty()) flags["log.level"] = g.log_level;
  src.flags = std::move(flags);
  auto config = cw::load_config(src);
  if (config.ok()) cw::log::init(config->log.level);
  return config;
}

const std::vector<cw::store::Migration>* pick_migrations(const std::string& dir,
                                                         std::vector<cw::store::Migration>& holder,
                                                         std::string* error) {
  if (dir.empty()) return &cw::store::builtin_migrations();
  auto loaded = cw::store::load_migrations_dir(dir);
  if (!loaded.ok()) {
    *error = loaded.error().detail();
    return nullptr;
  }
  holder = std::move(loaded.value());
  return &holder;
}

cw::pipeline::WorkerOptions worker_options(const cw::Config& config) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return cw::pipeline::WorkerOptions{config.pipeline, config.storage.root, self.string(),
                                     cw::pipeline::default_worker_name(), config.fetch};
}

// The workers, with the job kinds of other modules registered: webhook deliveries of reports.
void register_handlers(cw::pipeline::Worker& workers, cw::store::Database& db,
                       const cw::Config& config) {
  workers.handle(cw::reports::kDeliverReportJob, cw::reports::report_delivery_handler(
                                                     db, config.reports, config.pipeline,
                                                     std::chrono::seconds(config.fetch.timeout_s)));
}

// The imagery routes' access to pipeline/imagery_tasks.hpp: the upload probe in the sandbox with
// the pipeline's limits, tiles and tie points in this process.
cw::server::ImageryBackend imagery_backend(const cw::Config& config) {
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  cw::pipeline::SandboxLimits limits = cw::pipeline::sandbox_limits(config.pipeline);
  using cw::server::Corners;
  cw::server::ImageryBackend b;
  b.probe = [self, limits](const std::string& path, const Corners& corners) {
    return cw::pipeline::probe_imagery_sandboxed(self, {path, corners}, limits);
  };
  b.render_tile = [](const std::string& path, const Corners& corners, const cw::geo::TileId& t) {
    return cw::pipeline::render_imagery_tile({path, corners}, t);
  };
  b.tie_points = [](const std::string& path, const Corners& corners, int w, int h,
                    const nlohmann::json& points) {
    return cw::pipeline::tie_point_footprint({path, corners}, w, h, points);
  };
  return b;
}

// The evidence store keeps originals under storage.root. backend = "s3" is read and checked by
// the configuration (the S3 client in store/s3_client.hpp is tested against Ceph's RGW), but
// the media store does not write to it yet: a server or worker must not pretend it does.
int refuse_unwired_storage(const cw::Config& config) {
  if (config.storage.backend == "fs") return 0;
  return fail("config: storage.backend = \"" + config.storage.backend +
                  "\" is not available for the evidence store yet (originals are written to "
                  "storage.root only); set storage.backend = \"fs\"",
              2);
}

// Children that decode untrusted files are confined as [pipeline] sandbox says, or nothing that
// would run them starts. 0, or the exit status of a refusal.
int check_sandbox_mode(const cw::Config& config) {
  auto mode = cw::pipeline::sandbox_mode_of(config.pipeline);
  if (cw::Status s = cw::pipeline::check_sandbox(mode); !s.ok()) {
    return fail("sandbox: " + s.error().detail(), 2);
  }
  if (mode == cw::pipeline::SandboxMode::kLimitsOnly) {
    cw::log::warn(
        "sandbox: limits-only ([pipeline] sandbox): analysis, imagery and downloader children "
        "are NOT in namespaces; a compromised decoder can read the evidence store and the "
        "configuration files this user can read, write the files it can write, use the network "
        "(the database included) and signal this user's processes. Only resource limits, a "
        "cleared environment, closed descriptors and the decoders' seccomp filter confine it.",
        {{"sandbox", "limits-only"}});
  } else {
    cw::log::info("sandbox", {{"sandbox", "namespaces"}});
  }
  return 0;
}

// serve and worker run as the application role (store/roles.hpp): a superuser, the schema's
// owner or a member of pg_execute_server_program is refused unless database.allow_privileged.
// 0, or the exit status of a refusal.
int check_database_role(const cw::Config& config, cw::store::Database& db) {
  auto privileges = cw::store::current_privileges(db);
  if (!privileges.ok())
    return fail("cannot check the database role: " + privileges.error().detail());
  const std::string reason = cw::store::privileged_reason(*privileges);
  if (reason.empty()) return 0;
  if (!config.database.allow_privileged) return fail(reason, 2);
  cw::log::warn(
      "database: running privileged (database.allow_privileged): a compromised server "
      "could rewrite the schema, its functions and, with a superuser, run programs",
      {{"role", privileges->role}});
  return 0;
}

// After the migrations: the built-in reference geodata, when the database lacks it or has an
// older built-in set (store::ensure_builtin_geodata).
int sync_geodata(cw::store::Database& db) {
  auto synced = cw::store::ensure_builtin_geodata(db);
  if (!synced.ok()) return fail("geodata: " + synced.error().detail());
  if (synced->loaded) {
    for (const auto& l : synced->layers) {
      cw::log::info("geodata loaded", {{"layer", l.layer}, {"features", l.features}});
    }
  }
  return 0;
}

int cmd_serve(const GlobalOptions& g, bool migrate, const std::string& listen,
              const std::string& port_file) {
  std::map<std::string, std::string> flags;
  if (!listen.empty()) flags["server.listen"] = listen;
  auto config = load(g, flags);
  if (!config.ok()) return fail(config.error().detail(), 2);
  if (int rc = refuse_unwired_storage(*config); rc != 0) return rc;
  cw::store::Database db(config->database);
  if (migrate && !config->database.allow_privileged) {
    return fail(fmt::format("serve --migrate runs the migrations as the server's own role, which "
                            "must then own the schema: run `convoywatch migrate` as the owner and "
                            "serve as {}, or set database.allow_privileged = true",
                            cw::store::kAppRole),
                2);
  }
  if (migrate) {
    auto applied = cw::store::migrate(db, cw::store::builtin_migrations());
    if (!applied.ok()) return fail("migrate: " + applied.error().detail());
    if (int rc = sync_geodata(db); rc != 0) return rc;
  } else {
    auto state = cw::store::migration_state(db, cw::store::builtin_migrations());
    if (!state.ok()) return fail("cannot check migrations: " + state.error().detail());
    if (!state->pending.empty()) {
      return fail(
          fmt::format("the database has {} pending migration(s), first {}; run "
                      "`convoywatch migrate` or start with `serve --migrate`",
                      state->pending.size(), state->pending.front()));
    }
  }
  if (cw::Status s = cw::reports::Scheduler::check(config->reports); !s.ok()) {
    return fail("config: " + s.error().detail(), 2);
  }
  if (int rc = check_database_role(*config, db); rc != 0) return rc;
  // The upload probe of imagery runs in the sandbox too, so `serve` checks it with no workers.
  if (int rc = check_sandbox_mode(*config); rc != 0) return rc;
  cw::store::MediaStore media(config->storage.root);
  if (cw::Status s = media.prepare(); !s.ok()) {
    return fail("media store " + config->storage.root + ": " + s.error().detail());
  }
  // A single-request upload cut off by a crash can never be resumed: its temp file goes.
  auto removed = media.remove_stale_temp_files(std::chrono::seconds(0));
  if (removed.ok() && *removed > 0)
    cw::log::info("removed unfinished uploads", {{"files", *removed}});
  cw::server::Server server(*config, db, media, cw::server::make_router(),
                            imagery_backend(*config));
  if (cw::Status s = server.bind(); !s.ok()) return fail(s.error().detail());
  cw::log::info("listening", {{"address", config->server.listen},
                              {"port", server.port()},
                              {"io_threads", cw::io_threads_for(config->server)},
                              {"pool_size", config->database.pool_size}});
  if (!port_file.empty()) {
    std::error_code ec;
    std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << server.port() << "\n";
    std::filesystem::rename(tmp, port_file, ec);
  }
  cw::pipeline::Worker workers(db, worker_options(*config));
  register_handlers(workers, db, *config);
  workers.start(config->pipeline.workers);
  cw::reports::Scheduler scheduler(db, *config);
  if (config->reports.scheduler) scheduler.start();
  server.run();
  scheduler.stop();
  workers.stop();
  return 0;
}

// Workers only, until SIGINT/SIGTERM; each thread finishes the job it is on.
int cmd_worker(const GlobalOptions& g, int concurrency) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  if (int rc = refuse_unwired_storage(*config); rc != 0) return rc;
  if (int rc = check_sandbox_mode(*config); rc != 0) return rc;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts: they inherit it
  cw::store::Database db(config->database);
  auto state = cw::store::migration_state(db, cw::store::builtin_migrations());
  if (state.ok() && !state->pending.empty()) {
    return fail("the database has pending migrations; run `convoywatch migrate`");
  }
  if (int rc = check_database_role(*config, db); rc != 0) return rc;
  cw::pipeline::Worker workers(db, worker_options(*config));
  register_handlers(workers, db, *config);
  int n = concurrency > 0 ? concurrency : std::max(1, config->pipeline.workers);
  workers.start(n);
  int sig = 0;
  sigwait(&set, &sig);
  cw::log::info("signal received: finishing the jobs in hand", {{"signal", sig}});
  workers.stop();
  return 0;
}

// Builds one report now (again, when it exists) and prints its summary.
int cmd_report_run(const GlobalOptions& g, const std::string& kind_text, const std::string& date) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  auto kind = cw::reports::parse_report_kind(kind_text, "KIND");
  if (!kind.ok()) return fail(kind.error().detail(), 2);
  const std::string& tz = config->reports.tz;
  cw::Result<cw::reports::ReportPeriod> period =
      date.empty() ? cw::reports::period_for_run(*kind,
                                                 std::chrono::time_point_cast<std::chrono::seconds>(
                                                     std::chrono::system_clock::now()),
                                                 tz)
                   : cw::reports::period_from_key(*kind, date, tz, "--date");
  if (!period.ok()) return fail(period.error().detail(), 2);
  cw::store::Database db(config->database);
  auto built =
      cw::reports::build_report(db, *config, *period, tz, "cli", cw::store::Actor::system("cli"));
  if (!built.ok()) return fail(built.error().detail());
  std::cout << fmt::format("report {} {} {} built: /api/v1/reports/{}\n", built->id, built->kind,
                           built->period_key, built->id);
  return 0;
}

// The synthetic demo dataset (reports/demo.hpp).
int cmd_demo_load(const GlobalOptions& g) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  auto loaded = cw::reports::load_demo(db, *config);
  if (!loaded.ok()) return fail("demo load: " + loaded.error().detail());
  if (!loaded->loaded) {
    std::cout << "the demo data is loaded already\n";
  } else {
    std::cout << fmt::format(
        "loaded {} synthetic observations ({} verified) and built {} reports (14-20 Feb 2022)\n",
        loaded->observations, loaded->verified, loaded->reports);
  }
  return 0;
}

int cmd_jobs_list(const GlobalOptions& g, const std::string& state) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  std::optional<std::string> filter;
  if (!state.empty()) filter = state;
  std::cout << fmt::format("{:>6}  {:<14} {:<8} {:>8} {:>8}  {}\n", "ID", "KIND", "STATE",
                           "ATTEMPTS", "PROGRESS", "LAST ERROR");
  int64_t after = 0;
  for (;;) {
    auto page = cw::store::Jobs(db).list(filter, after, 500);
    if (!page.ok()) return fail(page.error().detail());
    for (const auto& j : *page) {
      std::cout << fmt::format("{:>6}  {:<14} {:<8} {:>8} {:>7}%  {}\n", j.id, j.kind,
                               cw::store::job_state_name(j.state), j.attempts, j.progress,
                               j.last_error.value_or(""));
      after = j.id;
    }
    if (page->size() < 500) break;
  }
  return 0;
}

int cmd_jobs_retry(const GlobalOptions& g, int64_t id) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  if (cw::Status s = cw::store::Jobs(db).retry(id, cw::store::Actor::system("cli")); !s.ok()) {
    return fail(s.error().detail());
  }
  std::cout << "job " << id << " queued again\n";
  return 0;
}

// What `migrate` did about the database roles, on stderr (stdout lists the migrations).
void report_roles(const cw::store::RolesOutcome& r) {
  using cw::store::kAppRole;
  if (r.app_role_created) std::cerr << "created the application role " << kAppRole << "\n";
  if (r.maintenance_role_created) {
    std::cerr << "created the audit maintenance role " << cw::store::kAuditMaintenanceRole << "\n";
  }
  if (r.password_set) std::cerr << "set the password of " << kAppRole << "\n";
  if (!r.app_role_exists) {
    std::cerr << "note: there is no role " << kAppRole
              << " and this login may not create it; serve and worker refuse a privileged role, "
                 "so a DBA runs the SQL of docs/database-roles.md, then `convoywatch migrate` "
                 "again\n";
  }
}

int cmd_migrate(const GlobalOptions& g, const std::string& dir, bool status_only) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  std::vector<cw::store::Migration> holder;
  std::string error;
  const auto* migrations = pick_migrations(dir, holder, &error);
  if (migrations == nullptr) return fail(error);
  if (status_only) {
    auto state = cw::store::migration_state(db, *migrations);
    if (!state.ok()) return fail(state.error().detail());
    for (const auto& f : state->applied) std::cout << "applied  " << f << "\n";
    for (const auto& f : state->pending) std::cout << "pending  " << f << "\n";
    return state->pending.empty() ? 0 : 3;
  }
  // The roles first, so that migrate() grants the application role its rights.
  const char* app_password = std::getenv("CONVOYWATCH_DATABASE_APP_PASSWORD");
  auto roles = cw::store::ensure_roles(db, app_password == nullptr ? "" : app_password);
  if (!roles.ok()) return fail("roles: " + roles.error().detail(), 2);
  auto applied = cw::store::migrate(db, *migrations);
  if (!applied.ok()) return fail(applied.error().detail());
  report_roles(*roles);
  if (applied->empty()) {
    std::cout << "up to date (" << migrations->size() << " migrations)\n";
  } else {
    for (const auto& f : *applied) std::cout << "applied " << f << "\n";
  }
  // A folder of migrations (--dir) is for testing schemas; the geodata goes with the real one.
  return dir.empty() ? sync_geodata(db) : 0;
}

int cmd_geodata_load(const GlobalOptions& g, const std::string& dir) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  auto loaded =
      dir.empty() ? cw::store::load_builtin_geodata(db) : cw::store::load_geodata(db, dir);
  if (!loaded.ok()) return fail(loaded.error().detail());
  for (const auto& l : *loaded) {
    std::cout << fmt::format("loaded {:<10} {:>7} features  {} {} ({})\n", l.layer, l.features,
                             l.source, l.version, l.license);
  }
  return 0;
}

int cmd_geodata_status(const GlobalOptions& g) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  auto layers = cw::store::geodata_layers(db);
  if (!layers.ok()) return fail(layers.error().detail());
  for (const auto& l : *layers) {
    std::cout << fmt::format("{:<10} {:>7} features  sha256 {}  {} {} ({})\n", l.layer, l.features,
                             l.sha256.substr(0, 16), l.source, l.version,
                             l.builtin ? "built-in" : "from a folder");
  }
  return layers->empty() ? 3 : 0;
}

int cmd_config_show(const GlobalOptions& g) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  std::cout << cw::render_config(*config);
  return 0;
}

int cmd_org_create(const GlobalOptions& g, const std::string& name) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  auto org = cw::store::Users(db).create_org(name, cw::store::Actor::system("cli"));
  if (!org.ok()) return fail(org.error().detail());
  std::cout << "created organisation " << org->id << ": " << org->name << "\n";
  return 0;
}

int cmd_org_list(const GlobalOptions& g) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  auto orgs = cw::store::Users(db).list_orgs();
  if (!orgs.ok()) return fail(orgs.error().detail());
  std::cout << fmt::format("{:>5}  {:<32} {:>6}  {}\n", "ID", "NAME", "USERS", "CREATED");
  for (const auto& o : *orgs) {
    std::cout << fmt::format("{:>5}  {:<32} {:>6}  {}\n", o.id, o.name, o.users,
                             cw::format_rfc3339(o.created_at));
  }
  return 0;
}

int cmd_user_add(const GlobalOptions& g, const std::string& name, const std::string& org,
                 const std::string& role_text, bool create_org) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  auto role = cw::store::parse_role(role_text);
  if (!role.ok()) return fail(role.error().detail());
  cw::store::Database db(config->database);
  auto user = cw::store::Users(db).add(
      name, org, *role, cw::store::Actor::system("cli"),
      create_org ? cw::store::NewOrg::kCreate : cw::store::NewOrg::kRefuse);
  if (!user.ok()) {
    if (user.error().field() == "org") {
      return fail(user.error().detail() + " (create it with `convoywatch org create " + org +
                  "`, or pass --create-org)");
    }
    return fail(user.error().detail());
  }
  std::cout << user->token << std::endl;  // the token and only the token: scripts capture it
  return 0;
}

int cmd_user_list(const GlobalOptions& g) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  cw::store::Users users(db);
  std::cout << fmt::format("{:>5}  {:<24} {:<12} {:<24} {:>6}  {}\n", "ID", "NAME", "ROLE", "ORG",
                           "TOKENS", "CREATED");
  int64_t after = 0;
  for (;;) {
    auto page = users.list(after, 500);
    if (!page.ok()) return fail(page.error().detail());
    for (const auto& u : *page) {
      std::cout << fmt::format("{:>5}  {:<24} {:<12} {:<24} {:>6}  {}\n", u.id, u.name,
                               cw::store::role_name(u.role), u.org_name, u.active_tokens,
                               cw::format_rfc3339(u.created_at));
      after = u.id;
    }
    if (page->size() < 500) break;
  }
  return 0;
}

int cmd_user_revoke(const GlobalOptions& g, const std::string& name) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  auto n = cw::store::Users(db).revoke_user(name, cw::store::Actor::system("cli"));
  if (!n.ok()) return fail(n.error().detail());
  std::cout << "revoked " << *n << " token(s) of " << name << "\n";
  return 0;
}

int cmd_audit_verify(const GlobalOptions& g) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  cw::store::Database db(config->database);
  auto v = cw::store::AuditLog(db).verify();
  if (!v.ok()) return fail(v.error().detail());
  if (!v->ok)
    return fail("audit chain broken at row " + std::to_string(*v->first_bad_id) + ": " + v->reason,
                4);
  std::cout << "audit chain intact: " << v->rows << " rows\n";
  return 0;
}

// Re-hashes the stored originals (all, or a random sample): one line per problem on stdout,
// exit 4 when any original is missing or changed, 0 when all are intact.
int cmd_media_verify(const GlobalOptions& g, uint64_t sample) {
  auto config = load(g);
  if (!config.ok()) return fail(config.error().detail(), 2);
  if (int rc = refuse_unwired_storage(*config); rc != 0) return rc;
  cw::store::Database db(config->database);
  cw::store::MediaStore media(config->storage.root);
  const auto start = std::chrono::steady_clock::now();
  auto checked = cw::store::check_media(
      db, media, sample > 0 ? std::optional<uint64_t>(sample) : std::nullopt, [](uint64_t n) {
        if (n % 1000 == 0) std::cerr << "checked " << n << " originals\n";
      });
  if (!checked.ok()) return fail(checked.error().detail());
  for (const auto& p : checked->problems) std::cout << p.sha256 << ": " << p.what << "\n";
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format("{} of {} originals ({:.1f} MB re-hashed in {:.1f} s) {}\n",
                           checked->checked - checked->problems.size(), checked->checked,
                           static_cast<double>(checked->bytes) / 1e6, seconds,
                           sample > 0 ? "of a random sample are intact" : "are intact");
  if (!checked->problems.empty()) {
    return fail(fmt::format("{} original(s) missing or changed in {}", checked->problems.size(),
                            config->storage.root),
                4);
  }
  return 0;
}

// Runs inside the sandbox: one JSON document on stdout; exit 2 for a file that cannot be
// analysed (the job fails with the reason, no retry), 1 for anything else.
// A child that decodes untrusted bytes opens its inputs, then narrows itself to the seccomp
// allow-list (pipeline/seccomp.hpp) before the first byte is decoded. False when it could not.
bool enter_seccomp_after_opening(const std::vector<std::string>& inputs) {
  for (const std::string& path : inputs) {
    // Held open for the run; a missing file is the decoder's error to report.
    [[maybe_unused]] int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (cw::Status s = cw::pipeline::enter_seccomp(); !s.ok()) {
    std::cout << nlohmann::json{{"error", {{"code", "internal"}, {"detail", s.error().detail()}}}}
              << std::endl;
    return false;
  }
  return true;
}

int cmd_analyze(const std::string& file, const std::string& out_dir, int max_frames) {
  cw::log::init("warn");
  if (!enter_seccomp_after_opening({file})) return 1;
  auto result = cw::pipeline::analyze_media(file, out_dir, max_frames);
  if (!result.ok()) {
    nlohmann::json err = {
        {"error",
         {{"code", cw::code_name(result.error().code())}, {"detail", result.error().detail()}}}};
    std::cout << err.dump() << std::endl;
    return result.error().code() == cw::Code::kUnprocessable ? 2 : 1;
  }
  std::cout << result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  return 0;
}

// Runs inside the sandbox, like `analyze`: one JSON document on stdout; exit 2 for input that
// cannot give a result (the error's detail is the reason), 1 for anything else.
int print_result(const cw::Result<nlohmann::json>& result) {
  if (!result.ok()) {
    nlohmann::json err = {{"error",
                           {{"code", cw::code_name(result.error().code())},
                            {"detail", result.error().detail()},
                            {"field", result.error().field()}}}};
    std::cout << err.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return result.error().code() == cw::Code::kUnprocessable ? 2 : 1;
  }
  std::cout << result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  return 0;
}

int cmd_imagery_probe(const std::string& file, const std::string& corners) {
  cw::log::init("warn");
  if (!enter_seccomp_after_opening({file})) return 1;
  cw::pipeline::ImageryFile f{file, std::nullopt};
  if (!corners.empty()) {
    auto c = cw::pipeline::parse_corners(nlohmann::json::parse(corners, nullptr, false));
    if (!c.ok()) return print_result(c.error());
    f.corners = *c;
  }
  return print_result(cw::pipeline::probe_imagery(f));
}

int cmd_imagery_task(bool compare, const std::string& spec_file, const std::string& out_dir) {
  cw::log::init("warn");
  std::ifstream in(spec_file);
  auto spec = nlohmann::json::parse(in, nullptr, false);
  if (!spec.is_object()) {
    return print_result(cw::Error(cw::Code::kInvalidArgument, "the spec is not a JSON object"));
  }
  std::vector<std::string> inputs;
  for (const char* key : {"before", "after", "imagery"}) {
    if (spec.contains(key) && spec[key].is_object() && spec[key].contains("path") &&
        spec[key]["path"].is_string()) {
      inputs.push_back(spec[key]["path"].get<std::string>());
    }
  }
  if (spec.contains("frame") && spec["frame"].is_string()) {
    inputs.push_back(spec["frame"].get<std::string>());
  }
  if (!enter_seccomp_after_opening(inputs)) return 1;
  auto progress = cw::pipeline::progress_file_writer(out_dir + "/progress");
  return print_result(compare ? cw::pipeline::compare_imagery(spec, out_dir, progress)
                              : cw::pipeline::match_frame(spec, progress));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ConvoyWatch: ingestion and analysis of convoy footage for a monitoring task force"};
  app.require_subcommand(1);
  GlobalOptions g;
  app.add_option("--config", g.config_file,
                 "TOML configuration file (default: $CONVOYWATCH_CONFIG, else "
                 "config/convoywatch.toml if present)");
  app.add_option("--set", g.sets, "override a key: --set section.key=value (repeatable)");
  app.add_option("--log-level", g.log_level, "trace, debug, info, warn, error or off");

  int rc = 0;
  auto* serve = app.add_subcommand("serve", "serve the HTTP API (and the embedded workers)");
  bool migrate_flag = false;
  std::string listen, port_file;
  serve->add_flag("--migrate", migrate_flag, "apply pending migrations before serving");
  serve->add_option("--listen", listen, "address:port (overrides [server] listen)");
  serve->add_option("--port-file", port_file, "write the bound port to this file once listening");
  serve->callback([&] { rc = cmd_serve(g, migrate_flag, listen, port_file); });

  auto* migrate = app.add_subcommand("migrate", "apply pending schema migrations");
  std::string migrations_dir;
  bool status_only = false;
  migrate->add_option("--dir", migrations_dir,
                      "read migrations from this folder instead of the built-in set");
  migrate->add_flag("--status", status_only,
                    "only list applied and pending migrations (exit 3 when some are pending)");
  migrate->callback([&] { rc = cmd_migrate(g, migrations_dir, status_only); });

  auto* geodata = app.add_subcommand("geodata", "reference geodata (countries, oblasts, border)");
  geodata->require_subcommand(1);
  std::string geodata_dir;
  auto* geodata_load = geodata->add_subcommand(
      "load",
      "load the reference geodata into the database, replacing what was there (idempotent)");
  geodata_load->add_option("--dir", geodata_dir,
                           "folder of other derived files (default: the data/geodata built into "
                           "this program; `migrate` keeps what was loaded from a folder)");
  geodata_load->callback([&] { rc = cmd_geodata_load(g, geodata_dir); });
  geodata->add_subcommand("status", "list the loaded layers (exit 3 when none)")->callback([&] {
    rc = cmd_geodata_status(g);
  });

  auto* config = app.add_subcommand("config", "configuration");
  config->require_subcommand(1);
  config->add_subcommand("show", "print the effective configuration, secrets redacted")
      ->callback([&] { rc = cmd_config_show(g); });

  auto* orgs = app.add_subcommand("org", "manage the task force's organisations");
  orgs->require_subcommand(1);
  std::string org_name;
  auto* org_create = orgs->add_subcommand("create", "create an organisation");
  org_create->add_option("NAME", org_name, "organisation name")->required();
  org_create->callback([&] { rc = cmd_org_create(g, org_name); });
  orgs->add_subcommand("list", "list organisations")->callback([&] { rc = cmd_org_list(g); });

  auto* user = app.add_subcommand("user", "manage users and their API tokens");
  user->require_subcommand(1);
  std::string name, org, role = "contributor";
  bool create_org = false;
  auto* add = user->add_subcommand(
      "add", "create a user in an existing organisation; prints the new token, only once");
  add->add_option("--name", name, "user name")->required();
  add->add_option("--org", org, "organisation (see `org create`)")->required();
  add->add_option("--role", role,
                  "contributor, analyst, admin (manages their organisation's users) or "
                  "coordinator (manages every organisation's)")
      ->capture_default_str();
  add->add_flag("--create-org", create_org, "create the organisation when it does not exist");
  add->callback([&] { rc = cmd_user_add(g, name, org, role, create_org); });
  user->add_subcommand("list", "list users")->callback([&] { rc = cmd_user_list(g); });
  std::string revoke_name;
  auto* revoke = user->add_subcommand("revoke", "revoke every token of a user");
  revoke->add_option("NAME", revoke_name, "user name")->required();
  revoke->callback([&] { rc = cmd_user_revoke(g, revoke_name); });

  auto* audit = app.add_subcommand("audit", "the hash-chained audit log");
  audit->require_subcommand(1);
  audit->add_subcommand("verify", "recompute the chain; exit 4 naming the first broken row")
      ->callback([&] { rc = cmd_audit_verify(g); });

  auto* media_cmd = app.add_subcommand("media", "the evidence store");
  media_cmd->require_subcommand(1);
  uint64_t verify_sample = 0;
  auto* media_verify = media_cmd->add_subcommand(
      "verify", "re-hash the stored originals; exit 4 naming each one missing or changed");
  media_verify->add_option("--sample", verify_sample,
                           "check this many originals drawn at random instead of all");
  media_verify->callback([&] { rc = cmd_media_verify(g, verify_sample); });

  auto* analyze = app.add_subcommand(
      "analyze", "analyse one media file and print JSON (run by workers inside the sandbox)");
  std::string analyze_file, analyze_out;
  analyze->add_option("FILE", analyze_file, "media file")->required();
  analyze->add_option("--out", analyze_out, "folder for frames and thumbnails")->required();
  int analyze_max_frames = 64;
  analyze->add_option("--max-frames", analyze_max_frames, "most frames kept")
      ->capture_default_str();
  analyze->callback([&] { rc = cmd_analyze(analyze_file, analyze_out, analyze_max_frames); });

  auto* probe = app.add_subcommand(
      "imagery-probe",
      "read an imagery file's header and pixels and print JSON (run inside the sandbox)");
  std::string probe_file, probe_corners;
  probe->add_option("FILE", probe_file, "GeoTIFF, or PNG/JPEG with --corners")->required();
  probe->add_option("--corners", probe_corners, "[[lat,lon] x 4]: TL, TR, BR, BL");
  probe->callback([&] { rc = cmd_imagery_probe(probe_file, probe_corners); });
  std::string task_spec, task_out;
  for (bool compare : {true, false}) {
    auto* task = app.add_subcommand(
        compare ? "imagery-compare" : "imagery-match",
        compare ? "register after onto before and detect changes (run inside the sandbox)"
                : "match a video frame to imagery (run inside the sandbox)");
    task->add_option("SPEC", task_spec, "JSON spec the worker writes")->required();
    task->add_option("--out", task_out, "folder for outputs and the progress file")->required();
    task->callback([&, compare] { rc = cmd_imagery_task(compare, task_spec, task_out); });
  }

  auto* worker = app.add_subcommand("worker", "run media-processing workers only");
  int concurrency = 0;
  worker->add_option("--concurrency", concurrency, "worker threads (default [pipeline] workers)");
  worker->callback([&] { rc = cmd_worker(g, concurrency); });

  auto* jobs = app.add_subcommand("jobs", "the job queue");
  jobs->require_subcommand(1);
  std::string job_state;
  auto* jobs_list = jobs->add_subcommand("list", "list jobs");
  jobs_list->add_option("--state", job_state, "queued, running, done or failed");
  jobs_list->callback([&] { rc = cmd_jobs_list(g, job_state); });
  int64_t job_id = 0;
  auto* jobs_retry = jobs->add_subcommand("retry", "queue a failed or done job again");
  jobs_retry->add_option("ID", job_id, "job id")->required();
  jobs_retry->callback([&] { rc = cmd_jobs_retry(g, job_id); });

  auto* report = app.add_subcommand("report", "aggregate reports");
  report->require_subcommand(1);
  std::string report_kind, report_date;
  auto* report_run = report->add_subcommand(
      "run", "build a report now (again, when it exists): its period is --date, or the last one");
  report_run->add_option("KIND", report_kind, "daily or weekly")->required();
  report_run->add_option("--date", report_date,
                         "the period: a day (2022-02-16) or an ISO week (2022-W07)");
  report_run->callback([&] { rc = cmd_report_run(g, report_kind, report_date); });

  auto* submit = app.add_subcommand(
      "submit",
      "send videos, folders of videos or a Telegram Desktop export to a running server "
      "(resumable; files already there are not sent again). Exit 1 when a file failed, 2 for "
      "wrong options");
  cw::client::SubmitOptions so;
  submit->add_option("FILE", so.paths, "video files and folders (every video in them)");
  submit->add_option("--telegram-export", so.telegram_export,
                     "folder of a Telegram Desktop export (JSON): submit its videos");
  // Repeatable options take one value each, so that `--tag x clip.mp4` leaves the file alone.
  submit
      ->add_option("--channel-username", so.channel_usernames,
                   "username of the exported public channel (NAME, or CHAT_ID=NAME in an "
                   "export of many chats): source_url https://t.me/NAME/<message id>")
      ->allow_extra_args(false);
  submit->add_option("--meta", so.meta_json, "submission metadata as a JSON object");
  submit->add_option("--platform", so.platform,
                     "telegram, tiktok, x, youtube, vk, facebook, instagram or other");
  submit->add_option("--source-url", so.source_url, "the post's URL");
  submit->add_option("--posted-at", so.posted_at, "when it was posted (RFC 3339)");
  submit->add_option("--author", so.author, "the account that posted it");
  submit->add_option("--description", so.description, "the post's text");
  submit->add_option("--tag", so.tags, "a tag (repeatable)")->allow_extra_args(false);
  submit->add_option("--visibility", so.visibility, "taskforce (default) or org");
  submit->add_flag("--json", so.json, "one JSON object a line on stdout, no terminal display");
  submit->add_option("--server", so.server, "server URL (else CONVOYWATCH_URL, client.toml)");
  submit->add_option("--token", so.token, "API token (else CONVOYWATCH_TOKEN, client.toml)");
  submit->add_option("--client-config", so.client_config,
                     "client TOML file (default ~/.config/convoywatch/client.toml)");
  submit->add_option("--retries", so.retries,
                     "attempts in a row without progress before a file fails (default 8)");
  submit->callback([&] { rc = cw::client::run_submit(so, cw::client::SubmitIo::from_process()); });

  auto* demo = app.add_subcommand("demo", "the synthetic demo dataset");
  demo->require_subcommand(1);
  demo->add_subcommand("load",
                       "demo load: synthetic, clearly labelled observations along the border "
                       "(14-20 Feb 2022) and their reports; does nothing when loaded already")
      ->callback([&] { rc = cmd_demo_load(g); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}
