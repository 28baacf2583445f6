/**
 * Leak patterns for response bodies (issue 8): our own table, as data. Each pattern has examples that must match and
 * examples that must not (checked by test/proxy/leak-patterns.test.ts). Patterns are case-sensitive unless `flags`
 * says otherwise, and bounded (no nested quantifiers) so a 256 KiB body is scanned in linear time.
 */

export type LeakFamily = 'sql-error' | 'stack-trace' | 'source-code' | 'directory-listing' | 'server-path' | 'webshell';

export interface LeakPattern {
  /** Our own ids, 990100–990999 (outside the request signature ranges). */
  id: number;
  name: string;
  family: LeakFamily;
  pattern: string;
  flags?: string;
  match: string[];
  pass: string[];
}

export const LEAK_PATTERNS: readonly LeakPattern[] = [
  // ---- SQL errors -------------------------------------------------------------------------------------------------
  {
    id: 990100, name: 'MySQL/MariaDB error message', family: 'sql-error',
    pattern: String.raw`You have an error in your SQL syntax|check the manual that (?:corresponds|fits) to your (?:MySQL|MariaDB) server version|\bWarning: mysqli?_\w{1,30}\(\)|\bmysqli?_(?:query|fetch_\w{1,10}|num_rows)\(\) expects parameter|Unknown column '[^'\n]{1,100}' in '[^'\n]{1,40}'|\bERROR \d{4} \([0-9A-Z]{5}\): |com\.mysql\.(?:cj\.)?jdbc\.exceptions|\bMySql(?:Data\.MySqlClient\.MySql)?Exception\b|\bSQLSTATE\[(?:HY000|42000|42S02|42S22|23000)\]`,
    match: [
      "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''' at line 1",
      "check the manual that corresponds to your MariaDB server version for the right syntax",
      '<b>Warning</b>: Warning: mysql_fetch_array() expects parameter 1 to be resource',
      "Unknown column 'passwd' in 'field list'",
      "ERROR 1105 (HY000): XPATH syntax error: '\\secret'",
      'SQLSTATE[42000]: Syntax error or access violation: 1064',
      'com.mysql.jdbc.exceptions.jdbc4.MySQLSyntaxErrorException',
    ],
    pass: ['We use MySQL and PostgreSQL in production.', 'Error 404 (Not Found)', 'Unknown column in the report', 'mysql_fetch_array is deprecated, see the manual'],
  },
  {
    id: 990101, name: 'PostgreSQL error message', family: 'sql-error',
    pattern: String.raw`\bERROR: {1,2}(?:syntax error at or near "|invalid input syntax for|relation "[^"\n]{1,100}" does not exist|column "[^"\n]{1,100}" does not exist|unterminated quoted string at or near|operator does not exist: )|\bWarning: pg_\w{1,20}\(\)|\bpg_(?:query|exec|prepare)\(\): Query failed|org\.postgresql\.util\.PSQLException|\bpsycopg2?\.(?:errors\.[A-Z]\w{1,60}|\w{1,40}Error)\b|\bPG::(?:SyntaxError|UndefinedTable|UndefinedColumn|InvalidTextRepresentation)\b|\bNpgsql\.PostgresException\b`,
    match: [
      'ERROR:  syntax error at or near "UNION"',
      'ERROR:  invalid input syntax for integer: "abc"',
      'ERROR: relation "users2" does not exist',
      'Warning: pg_query(): supplied argument is not a valid PostgreSQL link resource',
      'psycopg2.errors.UndefinedTable: relation "x" does not exist',
      'org.postgresql.util.PSQLException: ERROR: column "x" does not exist',
    ],
    pass: ['ERROR: please fill in the form', 'PostgreSQL 16 released with better syntax errors', 'The relation "friends" does not exist in our model'],
  },
  {
    id: 990102, name: 'SQLite error message', family: 'sql-error',
    pattern: String.raw`\bWarning: SQLite3?::\w{1,20}\(\)|\bSQLite3?::(?:query|exec|prepare)\(\) \[|\bsqlite3\.(?:OperationalError|IntegrityError|ProgrammingError|DatabaseError)\b|\bSQLITE_(?:ERROR|CONSTRAINT|MISMATCH)\b|System\.Data\.SQLite\.SQLiteException|\bnear "[^"\n]{1,60}": syntax error|\bunrecognized token: "|\bno such (?:table|column): \w`,
    match: [
      'Warning: SQLite3::query() [sqlite3.query]: 1 values for 2 columns',
      'sqlite3.OperationalError: no such table: users',
      'near "UNION": syntax error',
      'SQLITE_ERROR: no such column: passwd',
      'unrecognized token: "\'abc"',
    ],
    pass: ['SQLite is a small database engine.', 'There is no such table in the restaurant', 'near "the station": a syntax of its own'],
  },
  {
    id: 990103, name: 'Microsoft SQL Server / Access / ODBC error message', family: 'sql-error',
    pattern: String.raw`Unclosed quotation mark after the character string|\bIncorrect syntax near\b|Microsoft OLE DB Provider for (?:SQL Server|ODBC Drivers)|\[Microsoft\]\[ODBC [^\]\n]{1,60}\]|\b(?:System|Microsoft)\.Data\.SqlClient\.SqlException\b|\bWarning: mssql_\w{1,20}\(\)|\bmssql_query\(\): |Conversion failed when converting the n?varchar value|\[SQL Server\]|Microsoft JET Database Engine|\bODBC SQL Server Driver\b`,
    match: [
      "Unclosed quotation mark after the character string 'abc'.",
      "Incorrect syntax near 'UNION'.",
      '[Microsoft][ODBC Microsoft Access Driver] Syntax error (missing operator) in query expression',
      'System.Data.SqlClient.SqlException (0x80131904): Invalid object name',
      "PHP Warning:  mssql_query(): message: Incorrect syntax near 'x'",
      "Conversion failed when converting the varchar value 'secret' to data type int.",
    ],
    pass: ['Microsoft SQL Server 2022 is supported.', 'The syntax near the end of the poem is incorrect', 'ODBC drivers can be downloaded below'],
  },
  {
    id: 990104, name: 'Oracle error message', family: 'sql-error',
    pattern: String.raw`\bORA-\d{5}: |\bWarning: oci_\w{1,20}\(\)|quoted string not properly terminated|\boracle\.jdbc\.(?:driver\.)?\w{1,40}Exception\b|\bOracle\.ManagedDataAccess\.Client\.OracleException\b|\bcx_Oracle\.\w{1,30}Error\b`,
    match: [
      'ORA-00933: SQL command not properly ended',
      'SQL Error: ORA-01756: quoted string not properly terminated',
      'Warning: oci_execute(): ORA-00904: "X": invalid identifier',
    ],
    pass: ['Oracle Database 23ai', 'ORA-1234 is our order number', 'The quoted string was long'],
  },
  {
    id: 990105, name: 'Other database error message (DB2, Firebird, Sybase, Ingres, HSQLDB, JDBC, Django ORM)', family: 'sql-error',
    pattern: String.raw`\bSQLCODE=-?\d{1,5}, SQLSTATE=|\bDB2 SQL [Ee]rror\b|\bDynamic SQL Error\b|\bWarning: (?:Sybase|ibase_\w{1,20}|maxdb_\w{1,20}|ingres_\w{1,20})|\bmaxdb(?:::|_)query\(\)|\[Ingres ODBC Driver\]|\[FrontBase Inc\.\]|org\.hsqldb\.jdbc|Unexpected end of command in statement \[|\[DM_QUERY_E_SYNTAX\]|\bjava\.sql\.SQL(?:Syntax\w{0,20})?Exception\b|\bdjango\.db\.utils\.(?:OperationalError|ProgrammingError|IntegrityError|DataError)\b|\bsqlalchemy\.exc\.\w{1,40}Error\b`,
    match: [
      'DB2 SQL Error: SQLCODE=-104, SQLSTATE=42601, SQLERRMC=DECLARE',
      'Dynamic SQL Error',
      'Exception in thread "main" java.sql.SQLException: An illegal character',
      'django.db.utils.OperationalError: no such table: notes_note',
      '[5000A] [Actian][Ingres ODBC Driver][Ingres]Delimited identifier',
      'at org.hsqldb.jdbc.JDBCDriver.connect(Unknown Source)',
    ],
    pass: ['Our DB2 migration guide', 'Dynamic SQL is a technique', 'django.db is the ORM package'],
  },
  // ---- Stack traces -----------------------------------------------------------------------------------------------
  {
    id: 990200, name: 'Python traceback', family: 'stack-trace',
    pattern: String.raw`Traceback \(most recent call last\):|\bFile "[^"\n]{1,300}\.py", line \d{1,6}, in [\w<>]{1,80}`,
    match: [
      'Traceback (most recent call last):\n  File "/srv/app/views.py", line 12, in search\n    cursor.execute(q)',
      '  File "/usr/lib/python3/dist-packages/django/core/handlers/base.py", line 197, in _get_response',
    ],
    pass: ['See the traceback module in the Python docs.', 'The file "report.pdf", line 3 of the table'],
  },
  {
    id: 990201, name: 'Django / Werkzeug debug page', family: 'stack-trace',
    pattern: String.raw`You(?:'|’|&#x27;|&#39;|&rsquo;)re seeing this (?:error|message) because you have <code>DEBUG = True</code>|The debugger caught an exception in your WSGI application|<th>Exception Type:</th>`,
    match: [
      "You're seeing this error because you have <code>DEBUG = True</code> in your Django settings file.",
      'You’re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.',
      'You&#x27;re seeing this error because you have <code>DEBUG = True</code>',
    ],
    pass: ['Set DEBUG = False in production.', "You're seeing this page because you are logged in."],
  },
  {
    id: 990202, name: 'Java stack trace or exception class', family: 'stack-trace',
    pattern: String.raw`\n\s{0,8}at (?:[\w$]{1,80}\.){1,20}[\w$<>]{1,80}\((?:[\w$]{1,80}\.(?:java|kt|scala|groovy):\d{1,6}|Native Method|Unknown Source)\)|\bException in thread "[^"\n]{1,80}" |\b(?:java|javax|jakarta|org\.springframework|org\.hibernate|org\.apache|com\.fasterxml)\.(?:[\w$]{1,60}\.){0,10}[A-Z][\w$]{0,80}(?:Exception|Error)\b`,
    match: [
      'java.lang.NullPointerException\n\tat com.shop.web.CartController.add(CartController.java:42)',
      'javax.servlet.ServletException: Error occurred during request processing',
      'org.hibernate.exception.ConstraintViolationException: could not execute statement',
      'org.apache.catalina.LifecycleException: Failed to start component',
    ],
    pass: ['Java 21 brings virtual threads.', 'We are at the office (closed on Sunday)', 'org.example.Shop is our package'],
  },
  {
    id: 990203, name: 'Node.js stack frame', family: 'stack-trace',
    pattern: String.raw`\bat (?:[\w$.<>&;\[\] ]{1,120} )?\(?(?:file://)?(?:/[\w.@+-]{1,100}){1,30}\.(?:m?js|cjs|ts|mts):\d{1,6}:\d{1,6}\)?|\bat (?:[\w$.<>&; ]{1,120} )?\(node:internal/[\w/]{1,100}:\d{1,6}:\d{1,6}\)`,
    match: [
      'TypeError: x is undefined\n    at Object.<anonymous> (/srv/app/index.js:3:9)',
      "Error: ENOENT<br> &nbsp; &nbsp;at /app/routes/user.js:14:11<br>",
      'at Module._compile (node:internal/modules/cjs/loader:1256:14)',
      '    at Object.&lt;anonymous&gt; (/home/app/server.mjs:10:5)',
    ],
    pass: ['Meet us at the venue (/map.html)', 'Download at /files/setup.js today', 'at 10:30 (see /agenda)'],
  },
  {
    id: 990204, name: 'PHP error message', family: 'stack-trace',
    pattern: String.raw`<b>(?:Fatal error|Parse error|Warning|Notice|Deprecated|Catchable fatal error)</b>: {1,2}[^\n]{1,500}? in <b>[^<\n]{1,300}</b> on line <b>\d{1,6}</b>|\b(?:PHP )?(?:Fatal error|Parse error|Warning|Notice|Deprecated): {1,2}[^\n]{1,500}? in (?:/|[A-Za-z]:\\)[^\s:]{1,300}(?: on line |:)\d{1,6}|\nStack trace:\n#0 `,
    match: [
      '<b>Fatal error</b>:  Uncaught Error: Call to undefined function foo() in <b>/var/www/html/index.php</b> on line <b>3</b>',
      'PHP Parse error:  syntax error, unexpected end of file in /var/www/app/x.php on line 12',
      "Warning: include(config.php): failed to open stream in C:\\xampp\\htdocs\\index.php on line 4",
    ],
    pass: ['Warning: the shop closes at 18:00 in /summer on weekdays', 'Fatal error in the movie plot, line 3'],
  },
  {
    id: 990205, name: '.NET / ASP.NET error page or stack trace', family: 'stack-trace',
    pattern: String.raw`Server Error in '[^'\n]{1,200}' Application|An unhandled exception occurred while processing the request|\bat [\w.\`<>\[\],]{1,300}\([^)\n]{0,300}\) in [^\n]{1,300}:line \d{1,6}|--- End of stack trace from previous location|\bSystem\.(?:[\w]{1,40}\.){0,6}\w{1,60}Exception: |\b(?:ViewState|HttpRequestValidation|HttpCompile|HttpParse|HttpUnhandled)Exception\b`,
    match: [
      "<h1>Server Error in '/' Application.</h1>",
      'at Shop.Controllers.CartController.Add(Int32 id) in C:\\src\\Shop\\CartController.cs:line 42',
      'System.NullReferenceException: Object reference not set to an instance of an object.',
      'HttpRequestValidationException: A potentially dangerous Request.Form value was detected.',
      'An unhandled exception occurred while processing the request.',
    ],
    pass: ['System.Text.Json is fast', 'Server Error? Contact support.', 'at the end (in the end) line 4'],
  },
  {
    id: 990206, name: 'Ruby / Rails error or Go panic', family: 'stack-trace',
    pattern: String.raw`\.rb:\d{1,6}:(?:in [\`'‘]| syntax error)|\bno implicit conversion of [A-Z]\w{0,40} into [A-Z]|\bwrong number of arguments \(given \d{1,3}, expected \d|\b(?:ActiveRecord|ActionController|ActionView|ActionDispatch)::[A-Z]\w{0,60}(?:Error|NotFound|Invalid|Missing)\b|\bundefined (?:local variable or )?method [\`'‘][^'’\n]{1,100}['’] for |\bgoroutine \d{1,8} \[running\]:`,
    match: [
      "/app/controllers/posts_controller.rb:10:in `show'",
      "ActiveRecord::RecordNotFound (Couldn't find Post with 'id'=999)",
      "NameError (undefined local variable or method `unexistent_variable' for #<PostsController:0x00007f>)",
      'panic: runtime error\n\ngoroutine 1 [running]:\nmain.main()',
      'SyntaxError (/app/controllers/reflects_controller.rb:10: syntax error, unexpected keyword_end)',
      'TypeError: no implicit conversion of String into Integer',
      'ArgumentError: wrong number of arguments (given 0, expected 1)',
    ],
    pass: ['Ruby on Rails guides', 'The ActiveRecord pattern explained', 'goroutines are cheap', 'A wrong number of arguments is a common bug'],
  },
  // ---- Source code, listings, server paths ------------------------------------------------------------------------
  {
    id: 990300, name: 'PHP source code served as text', family: 'source-code',
    pattern: String.raw`<\?(?:php[\s]|=[\s"'$])`,
    flags: 'i',
    match: ['<?php echo "Hello World!\\n" ?>', '<?= "Hello World!\\n" =?>', '<?PhP echo 1; ?>'],
    pass: ['<?xml version="1.0"?>', '&lt;?php echo 1; ?&gt;', '<?php12345', '<?=!@#$%^&'],
  },
  {
    id: 990301, name: 'Directory listing', family: 'directory-listing',
    pattern: String.raw`<(?:title|h1|h2)>\s{0,4}(?:Index of|Directory listing for) /|\[To Parent Directory\]|<a href="\?C=N;O=D">Name</a>`,
    match: ['<html><head><title>Index of /backup</title></head>', '<h1>Directory listing for /</h1>', '<A HREF="/">[To Parent Directory]</A>'],
    pass: ['<title>Index of products</title>', '<h1>Index of recipes</h1>', 'see the index of /docs below'],
  },
  {
    id: 990302, name: 'IIS server path or detailed IIS error', family: 'server-path',
    pattern: String.raw`\b[A-Za-z]:[\\/]inetpub\b|<title>\d{3}\.\d{1,2} - [^<\n]{1,200}</title>`,
    match: ['C:\\inetpub\\wwwroot\\web.config', 'c:/inetpub ', '<title>500.15 - Server error: Direct requests for GLOBAL.ASA are not allowed.</title>'],
    pass: ['inetpub is the IIS folder', '<title>404 - Not found</title>'],
  },
  // ---- Web shells: the backend serves a page of a known backdoor (it was compromised) -----------------------------
  {
    id: 990500, name: 'Web shell page (a known backdoor served by the backend)', family: 'webshell',
    // Named shells anywhere in the title; a title that starts with "web shell"; banners of shells that have no title.
    pattern: String.raw`<title>\s{0,4}(?:[^<\n]{0,80}?(?:\b(?:c99|r57|b374k|ncc|winx|antichat|safe0ver)\s?(?:web)?shell\b|\bwso\s(?:\d\.\d|20\d\d)\b)|web\s?shell\b|ru24postwebshell\b|aspydrvsinfo\b|rhtools\b)|\.:NCC:\. Shell\b|\bPHP backdoor by\b|\bvalue=["']?FilesMan\b`,
    flags: 'i',
    match: [
      '<html><head><title>r57 Shell Version 1.50</title></head>',
      '<title>c99shell v. 1.0 pre-release build</title>',
      "<html><head><title>example.com - WSO 4.2.6</title>",
      '<title>-:[GreenwooD]:- WinX Shell</title>',
      '<title>Webshell Akmal archtte id</title>',
      '<html>\n<head>\n<title>Ru24PostWebShell -',
      '<html><title>ASPYDrvsInfo</title>',
      '<h1>.:NCC:. Shell v1.0.3</h1>',
      '<!-- Simple PHP backdoor by DK (http://example.org) -->',
      '<input type=hidden name=a value="FilesMan">',
    ],
    pass: [
      '<title>What is a web shell? A detection guide</title>',
      '<title>Shell scripting 101</title>',
      '<title>The r57 incident report</title>',
      '<title>WSO2 API Manager</title>',
      'We offer PHP backdoor detection as a service.',
      '<title>Bash shell v5 release notes</title>',
    ],
  },
];
