#!/usr/bin/perl
# A CONNECT proxy for spec/06-openresty/proxy_spec.lua (nginx refuses the
# CONNECT method, and plain Lua has no sockets; perl-base is always on
# Debian).  Listens on 127.0.0.1, writes "pid port" to STATEFILE, tunnels
# every CONNECT to 127.0.0.1 at the requested port (never elsewhere), and
# appends to LOGFILE one line per request: its request line and whether it
# carried the expected Proxy-Authorization (AUTH, "user:password").
#
#   perl openresty_proxy.pl STATEFILE LOGFILE [AUTH] &
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use MIME::Base64 qw(encode_base64);

my ($statefile, $logfile, $auth) = @ARGV;
my $want = defined $auth ? "Basic " . encode_base64($auth, "") : undef;
my $server = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                   Listen => 64, ReuseAddr => 1) or die "listen: $!";
$SIG{CHLD} = "IGNORE";
open(my $state, ">", "$statefile.tmp") or die "$statefile: $!";
print $state "$$ " . $server->sockport() . "\n";
close($state);
rename("$statefile.tmp", $statefile) or die "rename: $!";

sub logline {
    open(my $log, ">>", $logfile) or return;
    print $log "@_\n";
    close($log);
}

sub relay {
    my ($a, $b) = @_;
    my $sel = IO::Select->new($a, $b);
    while (1) {
        for my $from ($sel->can_read(30)) {
            my $to = $from == $a ? $b : $a;
            my $n = sysread($from, my $buf, 65536);
            return if !$n;
            syswrite($to, $buf) or return;
        }
    }
}

while (my $client = $server->accept()) {
    next if fork();
    close($server);
    my ($line, %headers) = ("");
    $line = <$client> // exit 0;
    $line =~ s/\r?\n$//;
    while (my $h = <$client>) {
        $h =~ s/\r?\n$//;
        last if $h eq "";
        my ($name, $value) = split(/:\s*/, $h, 2);
        $headers{lc $name} = $value;
    }
    my $authorized = !defined $want
        || (defined $headers{"proxy-authorization"} && $headers{"proxy-authorization"} eq $want);
    logline($line, $authorized ? "auth-ok" : "auth-missing");
    my ($port) = $line =~ /^CONNECT [^\s:]+:(\d+) HTTP\/1\.[01]$/;
    if (!$port) {
        print $client "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        exit 0;
    }
    if (!$authorized) {
        print $client "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n";
        exit 0;
    }
    my $upstream = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port);
    if (!$upstream) {
        print $client "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
        exit 0;
    }
    print $client "HTTP/1.1 200 Connection established\r\n\r\n";
    relay($client, $upstream);
    exit 0;
}
