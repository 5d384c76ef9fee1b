/* Test helper for tests/test_inside_attacks.py: what an attacker inside a container tries with clone and sockets.
 *
 * Prints one line per attempt, "NAME ok" or "NAME <errno name>":
 *   raw      socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)           (needs CAP_NET_RAW in the network namespace)
 *   netlink  socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)   (any process may open it)
 *   nftables an nf_tables batch that creates table inet podsec  (needs CAP_NET_ADMIN: the code kernel
 *            exploits reach)
 *   clone    clone(CLONE_NEWUSER) (a nested user namespace by clone rather than unshare)
 *   clone3   clone3 with no flags (the profile answers ENOSYS whatever the flags)
 * Built statically on the controller by prepare.yml; the image has no compiler and no nft.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *name(int err)
{
    switch (err) {
    case 0: return "ok";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    default: return strerror(err);
    }
}

static size_t put_msg(char *buf, size_t off, unsigned short type, unsigned short flags, unsigned seq,
                      unsigned char family, unsigned short res_id, const char *table)
{
    struct nlmsghdr *nlh = (struct nlmsghdr *)(buf + off);
    struct nfgenmsg *nfg = (struct nfgenmsg *)NLMSG_DATA(nlh);
    size_t len = NLMSG_LENGTH(sizeof(*nfg));
    memset(nlh, 0, NLMSG_SPACE(sizeof(*nfg)) + 64);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq;
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(res_id);
    if (table) {
        struct nlattr *nla = (struct nlattr *)(buf + off + NLMSG_ALIGN(len));
        nla->nla_type = NFTA_TABLE_NAME;
        nla->nla_len = NLA_HDRLEN + strlen(table) + 1;
        memcpy((char *)nla + NLA_HDRLEN, table, strlen(table) + 1);
        len = NLMSG_ALIGN(len) + NLA_ALIGN(nla->nla_len);
    }
    nlh->nlmsg_len = len;
    return off + NLMSG_ALIGN(len);
}

static void try_clone(void)
{
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(0);
    printf("clone %s\n", name(pid < 0 ? errno : 0));
    if (pid > 0)
        waitpid(pid, NULL, 0);
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.exit_signal = SIGCHLD;
    pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0)
        _exit(0);
    printf("clone3 %s\n", name(pid < 0 ? errno : 0));
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    try_clone();
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    printf("raw %s\n", name(fd < 0 ? errno : 0));
    if (fd >= 0)
        close(fd);

    fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
    printf("netlink %s\n", name(fd < 0 ? errno : 0));
    if (fd < 0) {
        printf("nftables %s\n", name(errno));
        return 0;
    }
    char buf[1024];
    size_t off = put_msg(buf, 0, NFNL_MSG_BATCH_BEGIN, 0, 1, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, NULL);
    off = put_msg(buf, off, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, 2,
                  NFPROTO_INET, 0, "podsec");
    off = put_msg(buf, off, NFNL_MSG_BATCH_END, 0, 3, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, NULL);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, buf, off, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        printf("nftables %s\n", name(errno));
        return 0;
    }
    char reply[4096];
    ssize_t got = recv(fd, reply, sizeof(reply), 0);
    if (got < 0) {
        printf("nftables %s\n", name(errno));
        return 0;
    }
    struct nlmsghdr *nlh = (struct nlmsghdr *)reply;
    int err = -1;
    if (nlh->nlmsg_type == NLMSG_ERROR)
        err = -((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
    printf("nftables %s\n", err < 0 ? "no answer" : name(err));
    close(fd);
    return 0;
}
